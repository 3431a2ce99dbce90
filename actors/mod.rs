//! The actor mesh: one [`plugin::PluginActor`] per enabled plugin, each on
//! its own interval, feeding the [`aggregator::Aggregator`], which forwards
//! logged evaluations to the [`alert::AlertActor`].

pub mod aggregator;
pub mod alert;
pub mod history;
pub mod plugin;
