use super::*;

const SCRIPT: &str = "<script>alert(\"x\")</script>";
/// The same, as the HTML shows it (minijinja's HTML escaping).
const SCRIPT_ESCAPED: &str = "&lt;script&gt;alert(&quot;x&quot;)&lt;&#x2f;script&gt;";

fn account(id: &str, name: &str, ou_path: &str, checks: Vec<Check>) -> AccountEvidence {
    AccountEvidence {
        id: id.to_owned(),
        name: name.to_owned(),
        ou_path: ou_path.to_owned(),
        status: crate::report::worst(&checks),
        checks,
        skipped_regions: Vec::new(),
    }
}

fn passing(id: &str, name: &str, ou_path: &str) -> AccountEvidence {
    account(
        id,
        name,
        ou_path,
        vec![
            Check::pass("stack-instance", "CURRENT (SUCCEEDED)"),
            Check::pass("flow-logs", "2 VPC(s) in 2 region(s): 2 compliant"),
            Check::pass("delivery-policy", "the central bucket's policy lets the account deliver"),
            Check::pass("delivery", "flow-log objects from the account are in the central bucket"),
        ],
    )
}

/// Three accounts listed passing first: app (pass), logs (warn, a `<script>` in its name and a
/// skipped region), prod (fail, a formula as its fix, and a check the others lack).
fn evidence() -> OrgEvidence {
    let app = passing("111111111111", "app", "Root/Workloads");
    let mut logs = passing("222222222222", SCRIPT, "Root/Security");
    logs.checks[3] = Check::warn("delivery", "no flow-log object from the account yet", "objects arrive about 10 minutes after traffic");
    logs.status = CheckStatus::Warn;
    logs.skipped_regions = vec![RegionSkip { region: "ap-east-1".to_owned(), reason: format!("not enabled in the account {SCRIPT}") }];
    let mut prod = passing("333333333333", "prod", "Root/Workloads/Prod");
    prod.checks[1] = Check::fail("flow-logs", format!("1 missing {SCRIPT}"), "=HYPERLINK(\"http://x\")");
    prod.checks.push(Check::warn("vendor-access (AWS)", "the policy simulator says implicitDeny", "@SUM(1)"));
    prod.status = CheckStatus::Fail;
    OrgEvidence {
        run: RunInfo { generated_at: 1_800_000_000, version: "0.1.0".to_owned(), command_line: "flowgate org verify --bucket b".to_owned() },
        organization: "o-abcdefghij".to_owned(),
        management_account: "123456789012".to_owned(),
        administrator: "123456789012".to_owned(),
        call_as: "self".to_owned(),
        principal: "arn:aws:iam::123456789012:user/admin".to_owned(),
        stack_set: "flowgate-org-roles".to_owned(),
        stack_set_region: "us-east-1".to_owned(),
        bucket: "central-logs".to_owned(),
        log_archive_account: "222222222222".to_owned(),
        status: CheckStatus::Fail,
        organization_findings: Vec::new(),
        accounts: vec![app, logs, prod],
        unchecked: vec![UncheckedAccount {
            id: "444444444444".to_owned(),
            name: "sandbox".to_owned(),
            ou_path: "Root".to_owned(),
            reason: "out of scope: not under a target OU".to_owned(),
        }],
    }
}

fn csv_records(text: &str) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().iter().map(str::to_owned).collect();
    (header, reader.records().map(Result::unwrap).collect())
}

#[test]
fn failing_accounts_come_first_then_warnings_then_by_ou_and_name() {
    let e = evidence();
    let ids = |accounts: Vec<&AccountEvidence>| accounts.iter().map(|a| a.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(failing_first(&e.accounts)), ["333333333333", "222222222222", "111111111111"]);
    // Equal statuses: by OU path, then name, then id.
    let same = [passing("3", "b", "Root/B"), passing("2", "a", "Root/B"), passing("1", "z", "Root/A"), passing("0", "a", "Root/B")];
    assert_eq!(ids(failing_first(&same)), ["1", "0", "2", "3"]);
    // The page and the CSV list the accounts in that order.
    let html = render_org_html(&e).unwrap();
    let at = |id: &str| html.find(&format!("<tr class=\"account\" data-account=\"{id}\"")).unwrap_or_else(|| panic!("{id}"));
    assert!(at("333333333333") < at("222222222222") && at("222222222222") < at("111111111111"));
    let (_, rows) = csv_records(&render_org_csv(&e).unwrap());
    assert_eq!(&rows[0][0], "333333333333");
    assert_eq!(&rows.last().unwrap()[0], "111111111111");
}

/// The columns come from the checks the accounts carry: a check only one account has (AWS's own
/// verdict, say) is a column, empty for the others.
#[test]
fn the_matrix_has_a_column_per_check_name() {
    let e = evidence();
    assert_eq!(check_columns(&e.accounts), ["stack-instance", "flow-logs", "delivery-policy", "delivery", "vendor-access (AWS)"]);
    let html = render_org_html(&e).unwrap();
    assert!(html.contains("<th scope=\"col\">vendor-access (AWS)</th>"));
    assert_eq!(html.matches("<tr class=\"account\"").count(), 3);
    assert_eq!(html.matches("<td class=\"mark ").count(), 3 * 5, "a cell per account and column");
    assert_eq!(html.matches("<td class=\"mark muted\" data-check=\"vendor-access (AWS)\">not checked</td>").count(), 2);
    assert!(html.contains("<td class=\"mark cell-fail\" data-check=\"flow-logs\">FAIL</td>"));
    assert!(html.contains("<td class=\"mark cell-warn\" data-check=\"delivery\">WARN</td>"));
    // The head counts the accounts per check and status.
    assert!(html.contains("<tr data-check=\"flow-logs\"><th scope=\"row\">flow-logs</th><td class=\"num\">2</td><td class=\"num\">0</td><td class=\"num cell-fail\">1</td></tr>"));
    // Each account's checks folded under its row, with reasons and fixes.
    assert_eq!(html.matches("<tr class=\"account-details\"><td colspan=\"10\"><details").count(), 3);
    assert_eq!(html.matches("<tr class=\"check\"").count(), 4 + 4 + 5);
    assert!(html.contains("<summary>Details of 333333333333: 3 passed, 1 warnings, 1 failed</summary>"));
    // The OU path may wrap at each `/`, its names escaped.
    assert!(html.contains("<td class=\"mono\">Root/<wbr>Workloads/<wbr>Prod</td>"));
}

/// A few failing accounts show why at once; many stay folded, and passing ones always are.
#[test]
fn failing_details_start_open_while_few_accounts_fail() {
    let mut e = evidence();
    let html = render_org_html(&e).unwrap();
    assert_eq!(html.matches("<details open>").count(), 1, "the one failing account");
    assert!(html.contains("<details open><summary>Details of 333333333333:"));
    let failing = e.accounts[2].clone();
    e.accounts = (0..=OPEN_FAILING_UP_TO).map(|i| AccountEvidence { id: format!("{i:012}"), ..failing.clone() }).collect();
    let html = render_org_html(&e).unwrap();
    assert_eq!(html.matches("<details open>").count(), 0, "{} failing accounts", OPEN_FAILING_UP_TO + 1);
}

#[test]
fn the_header_says_who_checked_which_organization() {
    let mut e = evidence();
    let html = render_org_html(&e).unwrap();
    assert!(html.contains("<span class=\"status fail\">FAIL</span> NOT onboarded correctly: 1 account(s) passed, 1 with warnings, 1 failed"));
    for shown in ["o-abcdefghij", "flowgate-org-roles (us-east-1)", "central-logs", "flowgate org verify --bucket b", "(management account)"] {
        assert!(html.contains(shown), "{shown}");
    }
    assert!(html.contains("<time datetime=\"2027-01-15T08:00:00Z\">2027-01-15 08:00:00 UTC</time>"));
    assert!(html.contains("1 account(s) of the organization were not checked") && html.contains("out of scope: not under a target OU"));
    assert!(!html.contains("id=\"organization-findings\""));
    e.call_as = "delegated-admin".to_owned();
    e.organization_findings = vec!["stack-set flowgate-org-roles: not deployed".to_owned()];
    let html = render_org_html(&e).unwrap();
    assert!(html.contains("(delegated administrator)"));
    assert!(html.contains("<li><span class=\"status fail\">FAIL</span> stack-set flowgate-org-roles: not deployed</li>"));
}

#[test]
fn html_escapes_every_value_and_is_self_contained() {
    let mut e = evidence();
    e.accounts[1].ou_path = "Root/<b>Sec</b>".to_owned();
    let html = render_org_html(&e).unwrap();
    assert!(html.contains("<td class=\"mono\">Root/<wbr>&lt;b&gt;Sec&lt;/<wbr>b&gt;</td>"), "each name of the OU path, escaped");
    let lower = html.to_lowercase();
    assert!(!lower.contains("<script"), "an unescaped <script>");
    assert!(html.contains(&format!("<td class=\"account-name\">{SCRIPT_ESCAPED}</td>")), "the account's name, escaped");
    assert!(html.contains(&format!("<td>1 missing {SCRIPT_ESCAPED}</td>")), "a check's reason, escaped");
    assert!(html.contains(&format!("<li><span class=\"mono\">ap-east-1</span>: not enabled in the account {SCRIPT_ESCAPED}</li>")));
    for external in ["<link", "src=", "href=", "@import", "url(", "https://"] {
        assert!(!lower.contains(external), "{external} in the report");
    }
    // The account report's stylesheet, inline.
    assert!(html.contains(".verdict { font-size: 1.25em;") && html.contains("td.cell-fail { background: #fde2e2;"));
}

#[test]
fn csv_has_a_row_per_account_and_check_with_formulas_made_text() {
    let e = evidence();
    let (header, rows) = csv_records(&render_org_csv(&e).unwrap());
    assert_eq!(header, ["account", "name", "ou_path", "check", "status", "reason", "fix"]);
    assert_eq!(rows.len(), e.accounts.iter().map(|a| a.checks.len()).sum::<usize>());
    assert_eq!(rows.len(), 13);
    let prod_flow = rows.iter().find(|r| &r[0] == "333333333333" && &r[3] == "flow-logs").unwrap();
    assert_eq!(
        prod_flow.iter().collect::<Vec<_>>(),
        ["333333333333", "prod", "Root/Workloads/Prod", "flow-logs", "fail", &format!("1 missing {SCRIPT}"), "'=HYPERLINK(\"http://x\")"]
    );
    let aws = rows.iter().find(|r| &r[3] == "vendor-access (AWS)").unwrap();
    assert_eq!((&aws[4], &aws[6]), ("warn", "'@SUM(1)"));
    assert!(rows.iter().any(|r| &r[1] == SCRIPT), "the name kept as it is");
}

#[test]
fn nothing_checked_still_renders() {
    let mut e = evidence();
    e.accounts.clear();
    e.unchecked.clear();
    let html = render_org_html(&e).unwrap();
    assert!(html.contains("No account was checked.") && html.contains("Every account of the organization was checked."));
    assert_eq!(render_org_csv(&e).unwrap().lines().count(), 1, "the header alone");
}

proptest::proptest! {
    /// Whatever an account's name or a check's reason holds: the HTML shows it escaped in its
    /// cell, and the CSV gives it back as it was (a formula-looking cell gains one leading `'`).
    #[test]
    fn any_value_is_escaped_in_html_and_kept_in_csv(value in "\\PC{0,40}") {
        let mut e = evidence();
        e.accounts[0].name = value.clone();
        e.accounts[0].checks[0].detail = value.clone();
        let html = render_org_html(&e).unwrap();
        let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#x27;").replace('/', "&#x2f;");
        // The name's cell, then the OU's.
        let cells = format!("<td class=\"account-name\">{}</td>\n<td class=\"mono\">Root/<wbr>Workloads</td>", escape(&value));
        proptest::prop_assert!(html.contains(&cells), "{}", cells);
        let (_, rows) = csv_records(&render_org_csv(&e).unwrap());
        let row = rows.iter().find(|r| &r[0] == "111111111111" && &r[3] == "stack-instance").unwrap();
        let expected = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.clone() };
        proptest::prop_assert_eq!(&row[1], expected.as_str());
        proptest::prop_assert_eq!(&row[5], expected.as_str());
    }
}
