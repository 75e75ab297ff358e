//! Owned IR: tables, chains, rules, matches, targets (being written).
