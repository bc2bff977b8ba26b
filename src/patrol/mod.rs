//! The morning patrol (日常巡店): the daily checklist each team works through, prompted at a
//! scheduled time, ticked off in the team group, chased until done, and kept as history.

pub mod schedule;
