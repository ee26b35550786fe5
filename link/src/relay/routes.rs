//! The relay's routes: which name leads to which target.
//!
//! A route is `NAME=HOST:PORT`. A name may hold `{lane}` once, matching a lane number (a
//! decimal `u32` written without leading zeros), which the target may use too: one route
//! `offline/{lane}=dyad-worker-{lane}.dyad-worker:7200` serves every offline lane, however far
//! the workers are scaled. A lane matches only digits, so no name reaches a host the routes do
//! not spell out.

use std::fmt;
use std::str::FromStr;

use super::preamble::RouteName;
use crate::Address;

/// What stands for the lane in a route's name and target.
pub const LANE: &str = "{lane}";

/// One `NAME=HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The name before and after `{lane}`; `None` after when the name has no `{lane}`.
    prefix: String,
    suffix: Option<String>,
    /// The target, perhaps with `{lane}` in it.
    target: String,
}

impl Route {
    /// The target of `name`, if this route matches it.
    fn target_of(&self, name: &str) -> Option<Address> {
        let target = match &self.suffix {
            None => (name == self.prefix).then(|| self.target.clone())?,
            Some(suffix) => {
                let lane = name
                    .strip_prefix(&self.prefix)?
                    .strip_suffix(suffix.as_str())?;
                let canonical = lane.parse::<u32>().is_ok_and(|n| n.to_string() == lane);
                canonical.then(|| self.target.replace(LANE, lane))?
            }
        };
        // Checked when the route was read, with a lane of digits like this one.
        target.parse().ok()
    }
}

/// Routes a relay cannot take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// One `--route` is malformed.
    #[error("route {route:?}: {why} (expected NAME=HOST:PORT)")]
    Malformed {
        /// The route as given.
        route: String,
        /// What is wrong with it.
        why: String,
    },
    /// No route at all.
    #[error("give the relay at least one --route NAME=HOST:PORT")]
    None,
    /// Two routes of one name.
    #[error("routes {first} and {second} have the same name")]
    Twice {
        /// The first.
        first: String,
        /// The second.
        second: String,
    },
}

impl FromStr for Route {
    type Err = RouteError;

    fn from_str(s: &str) -> Result<Route, RouteError> {
        let bad = |why: &str| RouteError::Malformed {
            route: s.to_owned(),
            why: why.to_owned(),
        };
        let (name, target) = s.split_once('=').ok_or_else(|| bad("no `=`"))?;
        let (prefix, suffix) = match name.split_once(LANE) {
            Some((prefix, suffix)) => (prefix, Some(suffix)),
            None => (name, None),
        };
        for part in [prefix].into_iter().chain(suffix) {
            if !part.chars().all(RouteName::allowed) {
                return Err(bad(
                    "a name is ASCII letters, digits, - _ . / and at most one {lane}",
                ));
            }
        }
        if suffix.is_none() {
            name.parse::<RouteName>().map_err(|e| bad(&e.to_string()))?;
        } else if name.len() - LANE.len() + 10 > super::preamble::MAX_ROUTE_NAME {
            return Err(bad("the name is too long"));
        }
        if suffix.is_none() && target.contains(LANE) {
            return Err(bad("the target has {lane} and the name does not"));
        }
        target
            .replace(LANE, "0")
            .parse::<Address>()
            .map_err(|e| bad(&e.to_string()))?;
        Ok(Route {
            prefix: prefix.to_owned(),
            suffix: suffix.map(str::to_owned),
            target: target.to_owned(),
        })
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.suffix {
            Some(suffix) => write!(f, "{}{LANE}{suffix}={}", self.prefix, self.target),
            None => write!(f, "{}={}", self.prefix, self.target),
        }
    }
}

/// Every route of a relay. A name without `{lane}` wins over one with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routes(Vec<Route>);

impl Routes {
    /// The routes, refusing none at all and the same name twice.
    pub fn new(routes: Vec<Route>) -> Result<Routes, RouteError> {
        if routes.is_empty() {
            return Err(RouteError::None);
        }
        for (i, a) in routes.iter().enumerate() {
            if let Some(b) = routes[..i]
                .iter()
                .find(|b| (&b.prefix, &b.suffix) == (&a.prefix, &a.suffix))
            {
                return Err(RouteError::Twice {
                    first: b.to_string(),
                    second: a.to_string(),
                });
            }
        }
        let mut routes = routes;
        routes.sort_by_key(|r| r.suffix.is_some());
        Ok(Routes(routes))
    }

    /// Where `name` leads, if anywhere.
    pub fn target_of(&self, name: &RouteName) -> Option<Address> {
        self.0.iter().find_map(|r| r.target_of(name.as_str()))
    }

    /// The routes: those without `{lane}` first, then in the order given.
    pub fn iter(&self) -> impl Iterator<Item = &Route> {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(specs: &[&str]) -> Routes {
        Routes::new(specs.iter().map(|s| s.parse().expect(s)).collect()).expect("routes")
    }

    fn target(routes: &Routes, name: &str) -> Option<String> {
        routes
            .target_of(&name.parse().expect("a name"))
            .map(|a| a.to_string())
    }

    #[test]
    fn names_lead_to_their_targets_and_lanes_fill_in() {
        let r = routes(&[
            "offline/{lane}=dyad-worker-{lane}.dyad-worker:7200",
            "offline/7=special:1",
            "train=dyad-train:7300",
            "lane-{lane}-x=10.0.0.{lane}:9",
        ]);
        for (name, expected) in [
            ("offline/3", Some("dyad-worker-3.dyad-worker:7200")),
            ("offline/0", Some("dyad-worker-0.dyad-worker:7200")),
            ("offline/7", Some("special:1")),
            ("train", Some("dyad-train:7300")),
            ("lane-12-x", Some("10.0.0.12:9")),
            ("offline/03", None),
            ("offline/", None),
            ("offline/3/x", None),
            ("offline/99999999999", None),
            ("offline/-1", None),
            ("serve", None),
            ("trains", None),
        ] {
            assert_eq!(target(&r, name).as_deref(), expected, "{name}");
        }
        assert_eq!(
            r.iter().map(|r| r.to_string()).collect::<Vec<_>>()[2],
            "offline/{lane}=dyad-worker-{lane}.dyad-worker:7200"
        );
    }

    #[test]
    fn bad_routes_are_refused_with_the_reason() {
        for (spec, why) in [
            ("train", "no `=`"),
            ("train=dyad-train", "no port"),
            ("=dyad-train:1", "no route name"),
            ("train=dyad-{lane}:1", "the target has {lane}"),
            ("a{lane}b{lane}=x:1", "at most one {lane}"),
            ("tr ain=x:1", "ASCII letters"),
        ] {
            let e = spec.parse::<Route>().expect_err(spec).to_string();
            assert!(e.contains(why), "{spec}: {e}");
        }
        let twice = Routes::new(vec![
            "train=a:1".parse().expect("route"),
            "train=b:1".parse().expect("route"),
        ]);
        assert!(twice.expect_err("twice").to_string().contains("same name"));
        assert!(Routes::new(vec![]).is_err());
    }
}
