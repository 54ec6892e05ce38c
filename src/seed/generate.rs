//! Deterministic demo data: a fixed seed, so every run (and both backends) gets identical rows.
//!
//! The journal is a stream of business events (sales, payments, purchases, payroll, expenses), each
//! a balanced transaction of 2–4 lines, dated evenly over 2023–2024.

use chrono::NaiveDate;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub const SEED: u64 = 0x5EED_DA7A;

/// (id, code, name, cost center)
pub const DEPARTMENTS: &[(i64, &str, &str, &str)] = &[
    (1, "FIN", "Finance", "CC-100"),
    (2, "SAL", "Sales", "CC-200"),
    (3, "MKT", "Marketing", "CC-300"),
    (4, "OPS", "Operations", "CC-400"),
    (5, "ENG", "Engineering", "CC-500"),
    (6, "HR", "Human Resources", "CC-600"),
    (7, "ADM", "Administration", "CC-700"),
    (8, "SUP", "Customer Support", "CC-800"),
];

/// (id, code, name, type, normal balance)
pub const ACCOUNTS: &[(i64, &str, &str, &str, &str)] = &[
    (1, "1000", "Cash", "asset", "debit"),
    (2, "1100", "Accounts Receivable", "asset", "debit"),
    (3, "1200", "Inventory", "asset", "debit"),
    (4, "1300", "Prepaid Expenses", "asset", "debit"),
    (5, "1500", "Equipment", "asset", "debit"),
    (6, "2000", "Accounts Payable", "liability", "credit"),
    (7, "2100", "Sales Tax Payable", "liability", "credit"),
    (8, "2200", "Accrued Payroll", "liability", "credit"),
    (9, "2500", "Bank Loan", "liability", "credit"),
    (10, "3000", "Owner's Equity", "equity", "credit"),
    (11, "4000", "Product Sales", "revenue", "credit"),
    (12, "4100", "Service Revenue", "revenue", "credit"),
    (13, "5000", "Cost of Goods Sold", "expense", "debit"),
    (14, "6000", "Salaries and Wages", "expense", "debit"),
    (15, "6100", "Rent", "expense", "debit"),
    (16, "6200", "Utilities", "expense", "debit"),
    (17, "6300", "Marketing and Advertising", "expense", "debit"),
    (18, "6400", "Travel", "expense", "debit"),
    (19, "6500", "Software Subscriptions", "expense", "debit"),
    (20, "6600", "Office Supplies", "expense", "debit"),
    (21, "7000", "Interest Expense", "expense", "debit"),
];

const CASH: i64 = 1;
const RECEIVABLE: i64 = 2;
const INVENTORY: i64 = 3;
const PAYABLE: i64 = 6;
const SALES_TAX: i64 = 7;
const PRODUCT_SALES: i64 = 11;
const SERVICE_REVENUE: i64 = 12;
const COGS: i64 = 13;
const SALARIES: i64 = 14;
const INTEREST: i64 = 21;

const CUSTOMERS: &[&str] = &[
    "Northwind Traders",
    "Contoso Retail",
    "Fabrikam Inc.",
    "Adventure Works",
    "Tailspin Toys",
    "Wide World Importers",
    "Litware Systems",
    "Proseware Ltd",
    "Lucerne Publishing",
    "Margie's Travel",
    "Coho Vineyard",
    "Alpine Ski House",
    "Blue Yonder Airlines",
    "Trey Research",
    "Woodgrove Bank",
    "Fourth Coffee",
];

const VENDORS: &[&str] = &[
    "Acme Supplies",
    "Globex Components",
    "Initech Hardware",
    "Umbrella Logistics",
    "Stark Industrial",
    "Wayne Office Goods",
    "Cyberdyne Parts",
    "Soylent Packaging",
];

/// (expense account, description, min cents, max cents, department)
const EXPENSES: &[(i64, &str, i64, i64, i64)] = &[
    (15, "Office rent", 450_000, 650_000, 7),
    (16, "Electricity and water", 30_000, 180_000, 4),
    (17, "Online advertising campaign", 50_000, 1_500_000, 3),
    (18, "Customer visit travel", 15_000, 350_000, 2),
    (19, "Software subscriptions", 5_000, 250_000, 5),
    (20, "Office supplies", 2_000, 60_000, 7),
];

/// One journal line. Amounts are in cents; exactly one of debit/credit is non-zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub id: i64,
    pub transaction_id: i64,
    pub line_no: i64,
    pub entry_date: NaiveDate,
    pub account_id: i64,
    pub department_id: Option<i64>,
    pub description: String,
    pub reference: String,
    pub debit: i64,
    pub credit: i64,
}

/// `12345` → `"123.45"`.
pub fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// A posting before ids are assigned: (account, department, debit, credit).
type Posting = (i64, Option<i64>, i64, i64);

/// Generates exactly `total` lines.
pub struct Journal {
    rng: ChaCha8Rng,
    total: i64,
    next_id: i64,
    next_txn: i64,
    pending: std::vec::IntoIter<Line>,
    start: NaiveDate,
}

impl Journal {
    /// `total` must be at least 2 (a transaction has two lines or more).
    pub fn new(total: i64) -> Journal {
        Journal {
            rng: ChaCha8Rng::seed_from_u64(SEED),
            total,
            next_id: 1,
            next_txn: 1,
            pending: Vec::new().into_iter(),
            start: NaiveDate::from_ymd_opt(2023, 1, 1).expect("valid date"),
        }
    }

    fn transaction(&mut self, lines: usize) -> (String, String, Vec<Posting>) {
        let n = self.next_txn;
        let r = &mut self.rng;
        let dept = |r: &mut ChaCha8Rng| Some(r.random_range(1..=DEPARTMENTS.len() as i64));
        match lines {
            4 => {
                // Payroll split over three departments, paid from cash.
                let depts = [2, 5, r.random_range(3..=8)];
                let amounts: Vec<i64> = depts
                    .iter()
                    .map(|_| r.random_range(800_000..6_000_000))
                    .collect();
                let mut p: Vec<Posting> = depts
                    .iter()
                    .zip(&amounts)
                    .map(|(d, a)| (SALARIES, Some(*d), *a, 0))
                    .collect();
                p.push((CASH, Some(1), 0, amounts.iter().sum()));
                ("Payroll run".into(), format!("PAY-{n:07}"), p)
            }
            3 => {
                // Product sale on credit with 8% sales tax.
                let c = CUSTOMERS[r.random_range(0..CUSTOMERS.len())];
                let net = r.random_range(5_000..2_500_000);
                let tax = (net * 8 + 50) / 100;
                (
                    format!("Invoice to {c}"),
                    format!("INV-{n:07}"),
                    vec![
                        (RECEIVABLE, Some(2), net + tax, 0),
                        (PRODUCT_SALES, Some(2), 0, net),
                        (SALES_TAX, Some(1), 0, tax),
                    ],
                )
            }
            _ => match r.random_range(0..100) {
                0..=24 => {
                    let c = CUSTOMERS[r.random_range(0..CUSTOMERS.len())];
                    let a = r.random_range(5_000..2_700_000);
                    (
                        format!("Payment received from {c}"),
                        format!("RCP-{n:07}"),
                        vec![(CASH, Some(1), a, 0), (RECEIVABLE, Some(1), 0, a)],
                    )
                }
                25..=39 => {
                    let c = CUSTOMERS[r.random_range(0..CUSTOMERS.len())];
                    let a = r.random_range(20_000..1_200_000);
                    let d = if r.random_bool(0.5) { 5 } else { 8 };
                    (
                        format!("Service invoice to {c}"),
                        format!("SRV-{n:07}"),
                        vec![
                            (RECEIVABLE, Some(d), a, 0),
                            (SERVICE_REVENUE, Some(d), 0, a),
                        ],
                    )
                }
                40..=54 => {
                    let v = VENDORS[r.random_range(0..VENDORS.len())];
                    let a = r.random_range(10_000..1_800_000);
                    (
                        format!("Stock purchase from {v}"),
                        format!("PO-{n:07}"),
                        vec![(INVENTORY, Some(4), a, 0), (PAYABLE, Some(4), 0, a)],
                    )
                }
                55..=66 => {
                    let a = r.random_range(3_000..1_500_000);
                    (
                        "Cost of goods shipped".into(),
                        format!("SHP-{n:07}"),
                        vec![(COGS, Some(4), a, 0), (INVENTORY, Some(4), 0, a)],
                    )
                }
                67..=78 => {
                    let v = VENDORS[r.random_range(0..VENDORS.len())];
                    let a = r.random_range(10_000..1_800_000);
                    (
                        format!("Payment to {v}"),
                        format!("PMT-{n:07}"),
                        vec![(PAYABLE, Some(1), a, 0), (CASH, Some(1), 0, a)],
                    )
                }
                79..=96 => {
                    let (acct, what, lo, hi, d) = EXPENSES[r.random_range(0..EXPENSES.len())];
                    let a = r.random_range(lo..hi);
                    let credit = if r.random_bool(0.6) { CASH } else { PAYABLE };
                    let d = if r.random_bool(0.8) { Some(d) } else { dept(r) };
                    (
                        what.to_string(),
                        format!("EXP-{n:07}"),
                        vec![(acct, d, a, 0), (credit, Some(1), 0, a)],
                    )
                }
                _ => {
                    let a = r.random_range(50_000..400_000);
                    (
                        "Bank loan interest".into(),
                        format!("INT-{n:07}"),
                        vec![(INTEREST, Some(1), a, 0), (CASH, Some(1), 0, a)],
                    )
                }
            },
        }
    }

    /// How many lines the next transaction gets, so that exactly `total` lines come out.
    fn next_size(&mut self, remaining: i64) -> usize {
        if remaining <= 4 {
            return remaining as usize;
        }
        let k: i64 = match self.rng.random_range(0..100) {
            0..=69 => 2,
            70..=94 => 3,
            _ => 4,
        };
        // Never leave a single line over.
        if remaining - k == 1 {
            if k < 4 {
                (k + 1) as usize
            } else {
                3
            }
        } else {
            k as usize
        }
    }
}

impl Iterator for Journal {
    type Item = Line;

    fn next(&mut self) -> Option<Line> {
        if let Some(l) = self.pending.next() {
            return Some(l);
        }
        let remaining = self.total - self.next_id + 1;
        if remaining < 2 {
            return None;
        }
        let size = self.next_size(remaining);
        let (description, reference, postings) = self.transaction(size);
        let day = (self.next_id - 1) * 731 / self.total;
        let date = self.start + chrono::Days::new(day as u64);
        let txn = self.next_txn;
        self.next_txn += 1;
        let lines: Vec<Line> = postings
            .into_iter()
            .enumerate()
            .map(|(i, (account_id, department_id, debit, credit))| {
                let l = Line {
                    id: self.next_id,
                    transaction_id: txn,
                    line_no: i as i64 + 1,
                    entry_date: date,
                    account_id,
                    department_id,
                    description: description.clone(),
                    reference: reference.clone(),
                    debit,
                    credit,
                };
                self.next_id += 1;
                l
            })
            .collect();
        self.pending = lines.into_iter();
        self.pending.next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn exact_count_balanced_and_deterministic() {
        for total in [2, 3, 4, 5, 6, 7, 11, 1000, 10_001] {
            let lines: Vec<Line> = Journal::new(total).collect();
            assert_eq!(lines.len() as i64, total, "total {total}");
            let mut bal: BTreeMap<i64, i64> = BTreeMap::new();
            let mut last_txn = 0;
            for (i, l) in lines.iter().enumerate() {
                assert_eq!(l.id, i as i64 + 1);
                // Consecutive transaction ids: `seed` counts transactions with max().
                assert!(l.transaction_id == last_txn || l.transaction_id == last_txn + 1);
                last_txn = l.transaction_id;
                assert!((l.debit > 0) != (l.credit > 0), "{l:?}");
                *bal.entry(l.transaction_id).or_default() += l.debit - l.credit;
            }
            assert!(bal.values().all(|b| *b == 0), "unbalanced at {total}");
            assert!(
                lines.last().unwrap().entry_date <= NaiveDate::from_ymd_opt(2024, 12, 31).unwrap()
            );
        }
        assert!(Journal::new(5000).eq(Journal::new(5000)));
    }

    #[test]
    fn money_format() {
        assert_eq!(money(12345), "123.45");
        assert_eq!(money(5), "0.05");
    }
}
