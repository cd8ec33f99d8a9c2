//! The generic planner: turns Terraform's proposed new state into a plan that
//! satisfies core's rules (`docs/reference/plugin-protocol.md#planned-state-rules`,
//! `#requires-replace`), using the schema's attribute behaviours. Resources get a last word through
//! `modify_plan`.

use std::collections::BTreeMap;

use super::diagnostics::Diagnostics;
use super::schema::{Mode, Schema};
use crate::codec::{Path, Value};

/// One PlanResourceChange call, as resources see it: the request (prior,
/// config, private bytes, identity) and the answer being built (planned
/// value, replacement paths, planned private bytes, diagnostics) in one, as
/// the hooks read both.
#[derive(Debug)]
#[non_exhaustive]
pub struct PlanCtx {
    /// Null when creating.
    pub prior: Value,
    /// Null when destroying.
    pub config: Value,
    /// What will be planned; starts as Terraform's proposed new state.
    pub planned: Value,
    pub requires_replace: Vec<Path>,
    pub diags: Diagnostics,
    /// On the create half of a replacement Terraform decided on itself
    /// (`-replace`, a tainted object): the identity of the object replaced.
    pub replaced_identity: Option<Value>,
    /// The identity Terraform sent (the stored one, or on the create half of
    /// a replacement the first half's planned one).
    pub prior_identity: Option<Value>,
    /// The private bytes stored with the prior state (or planned by the
    /// first half of a replacement).
    pub prior_private: Vec<u8>,
    /// The private bytes apply will receive; starts as `prior_private`.
    pub planned_private: Vec<u8>,
}

impl PlanCtx {
    pub fn is_create(&self) -> bool {
        self.prior.is_null() && !self.planned.is_null()
    }

    pub fn is_destroy(&self) -> bool {
        self.planned.is_null() && !self.prior.is_null()
    }

    /// An existing object that this plan destroys and creates again.
    pub fn is_replace(&self) -> bool {
        !self.prior.is_null() && !self.planned.is_null() && !self.requires_replace.is_empty()
    }

    pub fn is_update(&self) -> bool {
        !self.prior.is_null() && !self.planned.is_null() && self.planned != self.prior
    }

    pub fn planned_attr(&self, name: &str) -> &Value {
        attr(&self.planned, name)
    }

    pub fn set_planned(&mut self, name: &str, v: Value) {
        set_attr(&mut self.planned, name, v);
    }
}

static NULL: Value = Value::Null;

/// An object's attribute, or null when absent (or when `v` is not an object).
pub fn attr<'a>(v: &'a Value, name: &str) -> &'a Value {
    match v {
        Value::Object(m) => m.get(name).unwrap_or(&NULL),
        _ => &NULL,
    }
}

pub fn set_attr(v: &mut Value, name: &str, new: Value) {
    if let Value::Object(m) = v {
        m.insert(name.to_string(), new);
    }
}

/// Plans one change. `prior` is null on create; `config`/`proposed` are null
/// on destroy (then the plan is null).
pub fn plan_generic(schema: &Schema, prior: &Value, config: &Value, proposed: &Value) -> PlanCtx {
    let mut ctx = PlanCtx {
        prior: prior.clone(),
        config: config.clone(),
        planned: proposed.clone(),
        requires_replace: Vec::new(),
        diags: Diagnostics::new(),
        replaced_identity: None,
        prior_identity: None,
        prior_private: Vec::new(),
        planned_private: Vec::new(),
    };
    if config.is_null() {
        ctx.planned = Value::Null;
        return ctx;
    }
    if !matches!(ctx.planned, Value::Object(_)) {
        ctx.planned = Value::Object(BTreeMap::new());
    }
    apply_defaults(schema, &mut ctx);
    ctx
}

/// Optional+computed attributes left null in the configuration get their
/// default, the prior value, or "known after apply".
fn apply_defaults(schema: &Schema, ctx: &mut PlanCtx) {
    for a in &schema.attributes {
        if !attr(&ctx.config, a.name).is_null() {
            continue;
        }
        match a.mode {
            Mode::OptionalComputed => {
                let v = match (&a.default, ctx.prior.is_null()) {
                    (Some(d), _) => d.clone(),
                    (None, true) => Value::Unknown,
                    (None, false) => attr(&ctx.prior, a.name).clone(),
                };
                ctx.set_planned(a.name, v);
            }
            Mode::Computed if ctx.prior.is_null() => ctx.set_planned(a.name, Value::Unknown),
            _ => {}
        }
    }
}

/// After the resource normalised the plan: works out replacement and which
/// computed values the change will alter. Call once `normalize_plan` ran.
pub fn finish_plan(schema: &Schema, ctx: &mut PlanCtx) {
    if ctx.prior.is_null() || ctx.planned.is_null() {
        return;
    }
    for a in schema.attributes.iter().filter(|a| a.requires_replace) {
        let planned = attr(&ctx.planned, a.name);
        if !planned.is_known() || planned != attr(&ctx.prior, a.name) {
            ctx.requires_replace.push(Path::root().attr(a.name));
        }
    }
    let replacing = !ctx.requires_replace.is_empty();
    // Did anything the user controls change? Computed-only attributes are
    // excluded so that an unchanged object plans as a no-op.
    let changed = schema.attributes.iter().any(|a| {
        a.mode != Mode::Computed && attr(&ctx.planned, a.name) != attr(&ctx.prior, a.name)
    });
    if !changed && !replacing {
        return;
    }
    for a in &schema.attributes {
        let user_set = !attr(&ctx.config, a.name).is_null();
        let keep = a.use_state_for_unknown && !replacing;
        if a.is_computed() && !user_set && a.default.is_none() && !keep {
            ctx.set_planned(a.name, Value::Unknown);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Type;
    use crate::framework::schema::Attribute;

    fn schema() -> Schema {
        Schema::new("t")
            .attribute(Attribute::computed("id", Type::String).use_state_for_unknown())
            .attribute(Attribute::computed("updated_at", Type::Number))
            .attribute(Attribute::required("name", Type::String))
            .attribute(Attribute::required("parent", Type::String).requires_replace())
            .attribute(
                Attribute::optional_computed("enabled", Type::Bool).default(Value::Bool(true)),
            )
    }

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    fn config(name: &str, parent: &str) -> Value {
        obj(&[
            ("id", Value::Null),
            ("updated_at", Value::Null),
            ("name", s(name)),
            ("parent", s(parent)),
            ("enabled", Value::Null),
        ])
    }

    fn prior() -> Value {
        obj(&[
            ("id", s("x1")),
            (
                "updated_at",
                Value::Number(crate::codec::Number::from_i64(5)),
            ),
            ("name", s("a")),
            ("parent", s("p")),
            ("enabled", Value::Bool(true)),
        ])
    }

    /// Terraform's ProposedNew for these flat schemas: config, with computed
    /// nulls taken from prior.
    fn proposed(prior: &Value, config: &Value) -> Value {
        let mut p = config.clone();
        for k in ["id", "updated_at", "enabled"] {
            if attr(config, k).is_null() {
                set_attr(&mut p, k, attr(prior, k).clone());
            }
        }
        p
    }

    fn plan(prior: &Value, config: &Value) -> PlanCtx {
        let sch = schema();
        let mut ctx = plan_generic(&sch, prior, config, &proposed(prior, config));
        finish_plan(&sch, &mut ctx);
        ctx
    }

    #[test]
    fn create_marks_computed_unknown_and_applies_defaults() {
        let ctx = plan(&Value::Null, &config("a", "p"));
        assert!(ctx.is_create());
        assert_eq!(ctx.planned_attr("id"), &Value::Unknown);
        assert_eq!(ctx.planned_attr("updated_at"), &Value::Unknown);
        assert_eq!(ctx.planned_attr("enabled"), &Value::Bool(true));
        assert!(ctx.requires_replace.is_empty());
    }

    #[test]
    fn unchanged_object_is_a_no_op() {
        let ctx = plan(&prior(), &config("a", "p"));
        assert_eq!(ctx.planned, prior());
        assert!(!ctx.is_update());
    }

    #[test]
    fn update_keeps_id_but_recomputes_other_computed_values() {
        let ctx = plan(&prior(), &config("b", "p"));
        assert!(ctx.is_update() && !ctx.is_replace());
        assert_eq!(ctx.planned_attr("id"), &s("x1"));
        assert_eq!(ctx.planned_attr("updated_at"), &Value::Unknown);
    }

    #[test]
    fn replacement_attribute_forces_new_object() {
        let ctx = plan(&prior(), &config("a", "q"));
        assert!(ctx.is_replace());
        assert_eq!(ctx.requires_replace, vec![Path::root().attr("parent")]);
        assert_eq!(ctx.planned_attr("id"), &Value::Unknown);
    }

    #[test]
    fn destroy_plans_null() {
        let ctx = plan_generic(&schema(), &prior(), &Value::Null, &Value::Null);
        assert!(ctx.is_destroy());
    }
}
