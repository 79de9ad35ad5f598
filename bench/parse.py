"""Drives scripts/bench-parse: see that script's header."""
import gzip
import json
import os
import shutil
import subprocess
import sys
import time

records = int(sys.argv[1])
out = sys.argv[2]
os.makedirs(out, exist_ok=True)
bench = "bench/parse/target/release/flowgate-parse-bench"
sample = os.path.join(out, "sample.log.gz")


def run(cmd, stdout=subprocess.DEVNULL, shell=False):
    """Wall seconds and peak RSS (MiB) of one command, measured by GNU time (the child's own
    peak: Python's rusage would include the memory of the forked interpreter)."""
    report = os.path.join(out, "time.txt")
    if shell:
        cmd = ["/usr/bin/time", "-f", "%e %M", "-o", report, "sh", "-c", cmd]
    else:
        cmd = ["/usr/bin/time", "-f", "%e %M", "-o", report, *cmd]
    start = time.perf_counter()
    subprocess.run(cmd, stdout=stdout, check=True)
    wall = time.perf_counter() - start
    with open(report) as f:
        _, peak_kib = f.read().split()
    return wall, int(peak_kib) / 1024


def best(cmd, n=5, shell=False):
    runs = [run(cmd, shell=shell) for _ in range(n)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


subprocess.run([bench, "gen", str(records), sample], check=True, stdout=subprocess.DEVNULL)
compressed = os.path.getsize(sample)
with gzip.open(sample, "rb") as f:
    uncompressed = sum(len(chunk) for chunk in iter(lambda: f.read(1 << 20), b""))

zcat_s, zcat_mb = best(f"zcat {sample} > /dev/null", shell=True)
parse_s, parse_mb = best([bench, "parse", "1", sample])
# The flowgate binary itself, when a release build is given (scripts/bench-parse --cli): the same
# parser behind the command line, runtime start-up and the JSON report included.
cli = os.environ.get("FLOWGATE_BIN")
if cli:
    cli_s, cli_mb = best([cli, "parse", sample, "--output", "json"])

reader = """
import gzip, sys
from flowlogs_reader.flowlogs_reader import FlowRecord, csv_dict_reader
n = 0
with gzip.open(sys.argv[1], mode="rt") as f:
    rows = csv_dict_reader(f, delimiter=" ")
    rows.fieldnames = [x.replace("-", "_") for x in rows.fieldnames]
    for row in rows:
        FlowRecord(row)
        n += 1
print(n)
"""
flr_s, flr_mb = run([".venv-bench/bin/python", "-c", reader, sample])

# Many objects across cores: four copies, one thread then one per core.
copies = []
for i in range(4):
    path = os.path.join(out, f"copy{i}.log.gz")
    shutil.copyfile(sample, path)
    copies.append(path)
one_s, _ = best([bench, "parse", "1", *copies], n=2)
cores = os.cpu_count() or 1
all_s, all_mb = best([bench, "parse", str(cores), *copies], n=2)

mb = uncompressed / 1e6
result = {
    "records": records,
    "compressed_mb": round(compressed / 1e6, 1),
    "uncompressed_mb": round(mb, 1),
    "zcat_s": round(zcat_s, 3), "zcat_peak_mib": round(zcat_mb, 1),
    "flowgate_parse_s": round(parse_s, 3), "flowgate_peak_mib": round(parse_mb, 1),
    "flowgate_records_per_s": round(records / parse_s),
    "flowgate_mb_per_s": round(mb / parse_s),
    "flowlogs_reader_s": round(flr_s, 2), "flowlogs_reader_peak_mib": round(flr_mb, 1),
    "speedup_vs_zcat": round(zcat_s / parse_s, 2),
    **({"flowgate_cli_parse_s": round(cli_s, 3), "flowgate_cli_peak_mib": round(cli_mb, 1),
        "cli_speedup_vs_zcat": round(zcat_s / cli_s, 2)} if cli else {}),
    "speedup_vs_flowlogs_reader": round(flr_s / parse_s, 1),
    "four_objects_1_thread_s": round(one_s, 3),
    f"four_objects_{cores}_threads_s": round(all_s, 3),
    "multi_object_scaling": round(one_s / all_s, 2),
    "multi_object_peak_mib": round(all_mb, 1),
}
print(json.dumps(result, indent=2))
