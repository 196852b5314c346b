//! DynamoDB write expressions built by chained calls: `Update::new().set(..).remove(..)
//! .when(..)`. Each attribute name and value gets its own placeholder (`#n0`, `:v0`, ...; one
//! per name however often it is used), so no expression is put together by string surgery,
//! and the text of every expression can be unit-tested without DynamoDB.

use aws_sdk_dynamodb::operation::delete_item::builders::DeleteItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// A condition on the item as it is before the write.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// The attribute is absent.
    Absent(&'static str),
    /// The attribute is present.
    Exists(&'static str),
    /// The attribute equals the value.
    Eq(&'static str, AttributeValue),
    /// The attribute is at most the value.
    AtMost(&'static str, AttributeValue),
    /// Any of these holds.
    Any(Vec<Cond>),
}

/// One UpdateItem (or a DeleteItem's condition): SET, ADD and REMOVE clauses and the
/// conditions they are made under (all must hold).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Update {
    set: Vec<String>,
    add: Vec<String>,
    remove: Vec<String>,
    conditions: Vec<String>,
    names: Vec<(String, &'static str)>,
    values: Vec<(String, AttributeValue)>,
}

impl Update {
    pub fn new() -> Self {
        Self::default()
    }

    /// `SET attr = value`.
    pub fn set(mut self, attr: &'static str, value: AttributeValue) -> Self {
        let (n, v) = (self.name(attr), self.value(value));
        self.set.push(format!("{n} = {v}"));
        self
    }

    /// `SET attr = if_not_exists(attr, value)`: keeps a value already there.
    pub fn set_if_absent(mut self, attr: &'static str, value: AttributeValue) -> Self {
        let (n, v) = (self.name(attr), self.value(value));
        self.set.push(format!("{n} = if_not_exists({n}, {v})"));
        self
    }

    /// `ADD attr value`: adds to a number (atomic across writers).
    pub fn add(mut self, attr: &'static str, value: AttributeValue) -> Self {
        let (n, v) = (self.name(attr), self.value(value));
        self.add.push(format!("{n} {v}"));
        self
    }

    /// `REMOVE attr`.
    pub fn remove(mut self, attr: &'static str) -> Self {
        let n = self.name(attr);
        self.remove.push(n);
        self
    }

    /// Writes only when `cond` holds (with every other condition).
    pub fn when(mut self, cond: Cond) -> Self {
        let text = self.condition_text(cond);
        self.conditions.push(text);
        self
    }

    /// The update expression: its clauses in the order SET, ADD, REMOVE.
    pub fn update_expression(&self) -> String {
        let clauses = [("SET", &self.set, ", "), ("ADD", &self.add, ", "), ("REMOVE", &self.remove, ", ")];
        clauses
            .iter()
            .filter(|(_, parts, _)| !parts.is_empty())
            .map(|(verb, parts, sep)| format!("{verb} {}", parts.join(sep)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The condition expression, if any condition was given.
    pub fn condition_expression(&self) -> Option<String> {
        (!self.conditions.is_empty()).then(|| self.conditions.join(" AND "))
    }

    /// The placeholders of attribute names and what they stand for.
    pub fn names(&self) -> HashMap<String, String> {
        self.names.iter().map(|(p, n)| (p.clone(), (*n).to_owned())).collect()
    }

    /// The placeholders of values and their values.
    pub fn values(&self) -> HashMap<String, AttributeValue> {
        self.values.iter().cloned().collect()
    }

    /// Puts the expressions and their placeholders on an UpdateItem request.
    pub fn apply(self, req: UpdateItemFluentBuilder) -> UpdateItemFluentBuilder {
        let (names, values, condition) = (self.names(), self.values(), self.condition_expression());
        req.update_expression(self.update_expression())
            .set_condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
    }

    /// Puts the conditions (only) and their placeholders on a DeleteItem request.
    pub fn apply_to_delete(self, req: DeleteItemFluentBuilder) -> DeleteItemFluentBuilder {
        let (names, values, condition) = (self.names(), self.values(), self.condition_expression());
        req.set_condition_expression(condition)
            .set_expression_attribute_names((!names.is_empty()).then_some(names))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
    }

    /// The placeholder of an attribute name, the same one each time it is named.
    fn name(&mut self, attr: &'static str) -> String {
        if let Some((p, _)) = self.names.iter().find(|(_, n)| *n == attr) {
            return p.clone();
        }
        let p = format!("#n{}", self.names.len());
        self.names.push((p.clone(), attr));
        p
    }

    /// A new placeholder for a value.
    fn value(&mut self, value: AttributeValue) -> String {
        let p = format!(":v{}", self.values.len());
        self.values.push((p.clone(), value));
        p
    }

    fn condition_text(&mut self, cond: Cond) -> String {
        match cond {
            Cond::Absent(attr) => format!("attribute_not_exists({})", self.name(attr)),
            Cond::Exists(attr) => format!("attribute_exists({})", self.name(attr)),
            Cond::Eq(attr, v) => {
                let n = self.name(attr);
                format!("{n} = {}", self.value(v))
            }
            Cond::AtMost(attr, v) => {
                let n = self.name(attr);
                format!("{n} <= {}", self.value(v))
            }
            Cond::Any(any) => {
                let parts: Vec<String> = any.into_iter().map(|c| self.condition_text(c)).collect();
                format!("({})", parts.join(" OR "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{nv, sv};

    #[test]
    fn clauses_in_order_with_one_placeholder_per_name() {
        let u = Update::new()
            .set("status", sv("DONE"))
            .add("tries", nv(1))
            .set_if_absent("size", nv(3))
            .remove("lease")
            .remove("owner")
            .set("status2", sv("x"));
        assert_eq!(
            u.update_expression(),
            "SET #n0 = :v0, #n2 = if_not_exists(#n2, :v2), #n5 = :v3 ADD #n1 :v1 REMOVE #n3, #n4"
        );
        assert_eq!(u.condition_expression(), None);
        let names = u.names();
        assert_eq!((names["#n0"].as_str(), names["#n3"].as_str(), names.len()), ("status", "lease", 6));
        assert_eq!(u.values()[":v1"], nv(1));
    }

    #[test]
    fn conditions_are_anded_and_any_is_ored_in_parentheses() {
        let u = Update::new()
            .set("lease", nv(70))
            .when(Cond::Any(vec![Cond::Absent("lease"), Cond::AtMost("lease", nv(10)), Cond::Eq("owner", sv("me"))]))
            .when(Cond::Exists("uploadId"));
        assert_eq!(u.update_expression(), "SET #n0 = :v0");
        assert_eq!(
            u.condition_expression().as_deref(),
            Some("(attribute_not_exists(#n0) OR #n0 <= :v1 OR #n1 = :v2) AND attribute_exists(#n2)")
        );
        assert_eq!(u.names().len(), 3, "lease is named once");
        assert_eq!(u.values().len(), 3);
    }

    #[test]
    fn a_remove_only_update() {
        let u = Update::new().remove("a").remove("b").when(Cond::Eq("a", sv("x")));
        assert_eq!(u.update_expression(), "REMOVE #n0, #n1");
        assert_eq!(u.condition_expression().as_deref(), Some("#n0 = :v0"));
    }
}
