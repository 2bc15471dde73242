//! Chart aggregates: income, expense, net and gold sold per day, category or project, added up
//! exactly in `i128` units of 10^-8 as the matching rows stream by.

use super::store::SummaryRow;
use botmox_contract::decimal::format_units;
use botmox_contract::finance::SummaryBucket;
use botmox_contract::rules::day_of_ms;
use chrono::NaiveDate;
use std::collections::HashMap;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sums {
    pub income: i128,
    pub expense: i128,
    pub gold_sold: i128,
    pub count: u64,
}

impl Sums {
    pub fn add(&mut self, op_type: &str, amount: i64, gold_amount: Option<i64>) {
        if op_type == "expense" {
            self.expense += i128::from(amount);
        } else {
            self.income += i128::from(amount);
            self.gold_sold += i128::from(gold_amount.unwrap_or(0));
        }
        self.count += 1;
    }

    pub fn bucket(self, key: Option<String>) -> SummaryBucket {
        SummaryBucket {
            key,
            income: format_units(self.income),
            expense: format_units(self.expense),
            net: format_units(self.income - self.expense),
            gold_sold: format_units(self.gold_sold),
            count: self.count,
        }
    }
}

/// Buckets being filled.
pub enum Buckets {
    /// One per day from `first`, every day present.
    Days {
        first: NaiveDate,
        sums: Vec<Sums>,
    },
    ByCategory(HashMap<String, Sums>),
    ByProject(HashMap<Option<String>, Sums>),
}

impl Buckets {
    pub fn days(first: NaiveDate, count: usize) -> Self {
        Buckets::Days {
            first,
            sums: vec![Sums::default(); count],
        }
    }

    pub fn add(&mut self, row: &SummaryRow, totals: &mut Sums) {
        let (date, op_type, category, project, amount, gold) = row;
        let sums = match self {
            Buckets::Days { first, sums } => {
                let offset = (day_of_ms(*date) - *first).num_days();
                match usize::try_from(offset).ok().and_then(|i| sums.get_mut(i)) {
                    Some(s) => s,
                    // Outside the day range (cannot happen: the query is bounded by it).
                    None => return,
                }
            }
            Buckets::ByCategory(map) => map.entry(category.clone()).or_default(),
            Buckets::ByProject(map) => map.entry(project.clone()).or_default(),
        };
        sums.add(op_type, *amount, *gold);
        totals.add(op_type, *amount, *gold);
    }

    /// Days in order; categories and projects by key, "no project" last.
    pub fn finish(self) -> Vec<SummaryBucket> {
        match self {
            Buckets::Days { first, sums } => sums
                .into_iter()
                .zip(first.iter_days())
                .map(|(s, day)| s.bucket(Some(day.format("%Y-%m-%d").to_string())))
                .collect(),
            Buckets::ByCategory(map) => {
                let mut v: Vec<_> = map.into_iter().collect();
                v.sort_by(|a, b| a.0.cmp(&b.0));
                v.into_iter().map(|(k, s)| s.bucket(Some(k))).collect()
            }
            Buckets::ByProject(map) => {
                let mut v: Vec<_> = map.into_iter().collect();
                v.sort_by(|a, b| match (&a.0, &b.0) {
                    (None, None) => std::cmp::Ordering::Equal,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (Some(x), Some(y)) => x.cmp(y),
                });
                v.into_iter().map(|(k, s)| s.bucket(k)).collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_zero_filled_and_net_is_signed() {
        let first = NaiveDate::from_ymd_opt(2024, 5, 1).expect("date");
        let mut b = Buckets::days(first, 3);
        let mut totals = Sums::default();
        let day2 = 1_714_521_600_000 + 86_400_000 + 5;
        b.add(
            &(
                day2,
                "expense".into(),
                "proxy".into(),
                None,
                250_000_000,
                None,
            ),
            &mut totals,
        );
        let out = b.finish();
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].key.as_deref(), Some("2024-05-01"));
        assert_eq!(out[0].count, 0);
        assert_eq!(out[1].net, "-2.50");
        assert_eq!(out[2].key.as_deref(), Some("2024-05-03"));
        assert_eq!(totals.count, 1);
    }
}
