//! `flowgate-report-bench ACCOUNTS RUNS DIR`: renders the organization report (`org verify
//! --report`) of ACCOUNTS synthetic accounts x 6 checks as HTML and as CSV, RUNS times each;
//! writes one of each into DIR (for the browser) and prints their sizes and times as JSON.
//!
//! The accounts are what a large organization's run looks like: every tenth fails a check, every
//! tenth warns, every fifth skipped a region, with the reasons and fixes flowgate writes.

use std::time::Instant;

use flowgate_core::evidence::{AccountEvidence, OrgEvidence, RegionSkip, RunInfo, UncheckedAccount, render_org_csv, render_org_html};
use flowgate_core::report::{Check, worst};

fn checks(i: usize) -> Vec<Check> {
    let mut checks = vec![
        Check::pass("stack-instance", "CURRENT (SUCCEEDED)"),
        Check::pass("flow-logs", "4 VPC(s) in 3 region(s): 4 compliant, 0 non-compliant, 0 missing"),
        Check::pass("delivery-policy", "the central bucket's policy lets the account deliver"),
        Check::pass("delivery", "flow-log objects from the account are in the central bucket"),
        Check::pass("vendor-access", "FlowgateCrossAccountRole trusts account 999988887777, with the ExternalId"),
        Check::pass("vendor-access (AWS)", "IAM's policy simulator: s3:GetObject allowed on the central bucket"),
    ];
    match i % 10 {
        3 => {
            checks[0] = Check::fail(
                "stack-instance",
                "OUTDATED (FAILED): Role FlowgateCrossAccountRole already exists",
                "re-run flowgate org onboard to update it",
            );
            checks[1] = Check::fail(
                "flow-logs",
                "4 VPC(s) in 3 region(s): 2 compliant, 1 non-compliant, 1 missing",
                "re-run flowgate org onboard (add --replace for non-compliant flow logs)",
            );
        }
        7 => {
            checks[3] = Check::warn(
                "delivery",
                "no flow-log object from the account yet",
                "objects arrive about 10 minutes after traffic; a VPC without traffic delivers nothing",
            )
        }
        _ => {}
    }
    checks
}

fn account(i: usize) -> AccountEvidence {
    let checks = checks(i);
    let skipped_regions = if i.is_multiple_of(5) {
        vec![RegionSkip {
            region: "eu-west-1".to_owned(),
            reason: "denied by policy (an explicit deny in a service control policy), skipped".to_owned(),
        }]
    } else {
        Vec::new()
    };
    AccountEvidence {
        id: format!("{:012}", 100_000_000_000 + i),
        name: format!("workload-{i:04}"),
        ou_path: format!("Root/Workloads/Team{:02}", i % 20),
        status: worst(&checks),
        checks,
        skipped_regions,
    }
}

fn organization(accounts: usize) -> OrgEvidence {
    let accounts: Vec<AccountEvidence> = (0..accounts).map(account).collect();
    let all: Vec<Check> = accounts.iter().flat_map(|a| a.checks.iter().cloned()).collect();
    OrgEvidence {
        run: RunInfo {
            generated_at: 1_800_000_000,
            version: "0.1.0".to_owned(),
            command_line: "flowgate org verify --bucket acme-org-flow-logs --regions us-east-1,eu-west-1,ap-southeast-2 --ous ou-ab12-workload1 --report org.html"
                .to_owned(),
        },
        organization: "o-a1b2c3d4e5".to_owned(),
        management_account: "123456789012".to_owned(),
        administrator: "123456789012".to_owned(),
        call_as: "self".to_owned(),
        principal: "arn:aws:iam::123456789012:role/PlatformAdmin".to_owned(),
        stack_set: "flowgate-org-roles".to_owned(),
        stack_set_region: "us-east-1".to_owned(),
        bucket: "acme-org-flow-logs".to_owned(),
        log_archive_account: "210987654321".to_owned(),
        status: worst(&all),
        organization_findings: Vec::new(),
        accounts,
        unchecked: (0..50)
            .map(|i| UncheckedAccount {
                id: format!("{:012}", 200_000_000_000usize + i),
                name: format!("sandbox-{i:02}"),
                ou_path: "Root/Sandbox".to_owned(),
                reason: "out: not under a target OU".to_owned(),
            })
            .collect(),
    }
}

/// The best and the median of `runs` timings of `render`, in milliseconds, and its output.
fn time(runs: usize, render: impl Fn() -> String) -> (f64, f64, String) {
    let mut times = Vec::new();
    let mut out = String::new();
    for _ in 0..runs {
        let start = Instant::now();
        out = render();
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    (times[0], times[times.len() / 2], out)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: usize| args.get(i).map(|a| a.parse().expect("a number")).unwrap_or(default);
    let (accounts, runs) = (number(0, 1000), number(1, 10).max(1));
    let dir = args.get(2).cloned().unwrap_or_else(|| ".".to_owned());
    let evidence = organization(accounts);
    let (html_best, html_median, html) = time(runs, || render_org_html(&evidence).expect("html"));
    let (csv_best, csv_median, csv) = time(runs, || render_org_csv(&evidence).expect("csv"));
    std::fs::write(format!("{dir}/org-report.html"), &html).expect("write the HTML");
    std::fs::write(format!("{dir}/org-report.csv"), &csv).expect("write the CSV");
    let checks: usize = evidence.accounts.iter().map(|a| a.checks.len()).sum();
    println!(
        "{}",
        serde_json::json!({
            "accounts": accounts, "checks": checks, "runs": runs,
            "html": {"bytes": html.len(), "ms_best": html_best, "ms_median": html_median},
            "csv": {"bytes": csv.len(), "rows": csv.lines().count() - 1, "ms_best": csv_best, "ms_median": csv_median},
        })
    );
}
