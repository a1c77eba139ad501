//! The process's metrics registry, rendered in the Prometheus text exposition format (version 0.0.4).
//!
//! Each metric is declared once, as a [`Def`] constant (name, help, kind); a series is a metric with one set
//! of label values. Recording takes one short lock: the volumes here (HTTP requests, worker ticks, indexer
//! steps) are far below where that matters. Label values are escaped as the format requires; callers keep
//! them bounded (routes are axum's matched path templates, never raw paths).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

/// What kind of metric a [`Def`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (reset when the process starts).
    Counter,
    /// A value that is set.
    Gauge,
    /// Observations counted into [`BUCKETS`] (seconds), with their sum and count.
    Histogram,
}

/// A metric's name, help text and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Def {
    /// The metric's name (`laurel_…`; counters end in `_total`).
    pub name: &'static str,
    /// One line saying what it measures.
    pub help: &'static str,
    /// Counter, gauge or histogram: the `# TYPE` line and how a series is stored and rendered.
    pub kind: Kind,
}

/// Upper bounds (seconds) of the histogram buckets, from 5 ms to 10 s; `+Inf` is implied.
pub const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// HTTP requests answered, by route template, method and status code.
pub const HTTP_REQUESTS: Def = Def {
    name: "laurel_http_requests_total",
    help: "HTTP requests answered, by route template, method and status code.",
    kind: Kind::Counter,
};
/// Requests shed (answered 429) by route class.
pub const HTTP_SHED: Def = Def {
    name: "laurel_http_shed_total",
    help: "HTTP requests shed with 429, by route class.",
    kind: Kind::Counter,
};
/// Time to answer HTTP requests, by route template and method.
pub const HTTP_DURATION: Def = Def {
    name: "laurel_http_request_duration_seconds",
    help: "Time to answer HTTP requests, by route template and method.",
    kind: Kind::Histogram,
};
/// HTTP requests being answered now.
pub const HTTP_IN_FLIGHT: Def = Def {
    name: "laurel_http_requests_in_flight",
    help: "HTTP requests being answered now.",
    kind: Kind::Gauge,
};
/// Batches the worker signed and recorded.
pub const WORKER_BATCHES_SENT: Def = Def {
    name: "laurel_worker_batches_sent_total",
    help: "Issuance batches signed, recorded and broadcast by this process.",
    kind: Kind::Counter,
};
/// Batches whose transaction was mined successfully.
pub const WORKER_BATCHES_MINED: Def = Def {
    name: "laurel_worker_batches_mined_total",
    help: "Issuance batches whose transaction was mined successfully.",
    kind: Kind::Counter,
};
/// Batches given up on, by reason (`reverted`, `nonce_taken`); their requests go back to the queue.
pub const WORKER_BATCHES_ABANDONED: Def = Def {
    name: "laurel_worker_batches_abandoned_total",
    help: "Issuance batches given up on, by reason; their requests go back to the queue.",
    kind: Kind::Counter,
};
/// Requests the chain refused in simulation (failed alone).
pub const WORKER_REQUESTS_REFUSED: Def = Def {
    name: "laurel_worker_requests_refused_total",
    help: "Issuance requests the chain refused in simulation, failed alone.",
    kind: Kind::Counter,
};
/// Stuck transactions replaced with higher fees.
pub const WORKER_FEE_BUMPS: Def = Def {
    name: "laurel_worker_fee_bumps_total",
    help: "Stuck batch transactions replaced with higher fees.",
    kind: Kind::Counter,
};
/// Worker ticks that failed (RPC or store), retried.
pub const WORKER_TICK_ERRORS: Def = Def {
    name: "laurel_worker_tick_errors_total",
    help: "Issuance worker ticks that failed and were retried.",
    kind: Kind::Counter,
};
/// Batches sent and not yet mined, after the last tick.
pub const WORKER_IN_FLIGHT: Def = Def {
    name: "laurel_worker_batches_in_flight",
    help: "Issuance batches sent and not yet mined, after the worker's last tick.",
    kind: Kind::Gauge,
};
/// Issuance requests by status (read from the store when scraped).
pub const QUEUE_REQUESTS: Def = Def {
    name: "laurel_queue_requests",
    help: "Issuance requests in the store, by status (read when scraped).",
    kind: Kind::Gauge,
};
/// Age of the oldest request not yet sent (0 when none waits).
pub const QUEUE_OLDEST_PENDING: Def = Def {
    name: "laurel_queue_oldest_pending_age_seconds",
    help: "Age of the oldest issuance request not yet sent, 0 when none waits (read when scraped).",
    kind: Kind::Gauge,
};
/// Blocks this process indexed, counted per indexed range (`to - from + 1`).
pub const INDEXER_BLOCKS: Def = Def {
    name: "laurel_indexer_blocks_total",
    help: "Blocks indexed by this process.",
    kind: Kind::Counter,
};
/// Events this process stored while indexing (reorg removals are not subtracted).
pub const INDEXER_EVENTS: Def = Def {
    name: "laurel_indexer_events_total",
    help: "Events stored by this process.",
    kind: Kind::Counter,
};
/// Last block indexed: the end of each indexed range, or the fork point after a reorg.
pub const INDEXER_BLOCK: Def = Def {
    name: "laurel_indexer_indexed_block",
    help: "Last block indexed.",
    kind: Kind::Gauge,
};
/// Reorgs this process found and rolled the mirror back from (one per unwind step).
pub const INDEXER_REORGS: Def = Def {
    name: "laurel_indexer_reorgs_total",
    help: "Reorgs unwound.",
    kind: Kind::Counter,
};
/// Recent indexing rate, blocks per second.
pub const INDEXER_BLOCK_RATE: Def = Def {
    name: "laurel_indexer_blocks_per_second",
    help: "Recent indexing rate.",
    kind: Kind::Gauge,
};
/// Recent event rate, events per second.
pub const INDEXER_EVENT_RATE: Def = Def {
    name: "laurel_indexer_events_per_second",
    help: "Recent event rate.",
    kind: Kind::Gauge,
};
/// Indexer steps that failed, by error kind.
pub const INDEXER_ERRORS: Def = Def {
    name: "laurel_indexer_step_errors_total",
    help: "Indexer steps that failed, by error kind.",
    kind: Kind::Counter,
};
/// Rebuilds of the mirror from the deploy block this process started (another chain, or a reorg deeper
/// than the window).
pub const MIRROR_REBUILDS: Def = Def {
    name: "laurel_mirror_rebuilds_total",
    help: "Rebuilds of the mirror from the deploy block this process started.",
    kind: Kind::Counter,
};
/// 1 while this process rebuilds the mirror.
pub const MIRROR_REBUILDING: Def = Def {
    name: "laurel_indexer_rebuilding",
    help: "1 while this process rebuilds the mirror from the deploy block.",
    kind: Kind::Gauge,
};
/// Whether the mirror is being rebuilt, with the reason as a label (read from the store when scraped).
pub const MIRROR_REBUILD: Def = Def {
    name: "laurel_mirror_rebuild_in_progress",
    help: "1 while the mirror is rebuilt from the deploy block, with why as the reason label (read when scraped).",
    kind: Kind::Gauge,
};
/// Blocks between the head the indexer last saw and the last indexed block (read when scraped).
pub const MIRROR_LAG: Def = Def {
    name: "laurel_mirror_lag_blocks",
    help: "Blocks between the chain head the indexer last saw and the mirror's last indexed block (read when scraped).",
    kind: Kind::Gauge,
};

/// The metrics every scrape shows, recorded or not (a zero is an answer; a missing series is not).
const ALWAYS: [Def; 8] = [
    WORKER_BATCHES_SENT,
    WORKER_BATCHES_MINED,
    WORKER_REQUESTS_REFUSED,
    WORKER_FEE_BUMPS,
    WORKER_TICK_ERRORS,
    INDEXER_BLOCKS,
    INDEXER_EVENTS,
    INDEXER_REORGS,
];

#[derive(Debug, Clone)]
enum Value {
    Number(f64),
    Histogram {
        buckets: [u64; BUCKETS.len()],
        sum: f64,
        count: u64,
    },
}

/// A series' label names and values.
pub type Labels = Vec<(&'static str, String)>;
/// A series computed at scrape time: its metric, labels and value.
pub type Sample = (Def, Labels, f64);
type Families = BTreeMap<&'static str, (Def, BTreeMap<Labels, Value>)>;

/// A set of metrics and their series.
#[derive(Debug, Default)]
pub struct Registry {
    families: Mutex<Families>,
}

/// This process's registry (what `/metrics` renders).
pub static REGISTRY: Registry = Registry {
    families: Mutex::new(BTreeMap::new()),
};

impl Registry {
    fn with(&self, def: Def, labels: &[(&'static str, &str)], f: impl FnOnce(&mut Value)) {
        let labels = sorted(labels);
        let mut families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        let (_, series) = families
            .entry(def.name)
            .or_insert_with(|| (def, BTreeMap::new()));
        f(series.entry(labels).or_insert(Value::Number(0.0)));
    }

    /// Adds `n` to a counter (or gauge).
    pub fn add(&self, def: Def, labels: &[(&'static str, &str)], n: f64) {
        self.with(def, labels, |v| {
            if let Value::Number(x) = v {
                *x += n;
            }
        });
    }

    /// Sets a gauge.
    pub fn set(&self, def: Def, labels: &[(&'static str, &str)], n: f64) {
        self.with(def, labels, |v| {
            if let Value::Number(x) = v {
                *x = n;
            }
        });
    }

    /// The current value of one series of a counter or gauge (None when it was never recorded).
    pub fn value(&self, def: Def, labels: &[(&'static str, &str)]) -> Option<f64> {
        let labels = sorted(labels);
        let families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        match families.get(def.name)?.1.get(&labels)? {
            Value::Number(x) => Some(*x),
            Value::Histogram { .. } => None,
        }
    }

    /// Every metric in the text exposition format, families sorted by name, with `extra` (series computed
    /// at scrape time, such as the queue gauges) merged in.
    pub fn render(&self, extra: &[Sample]) -> String {
        self.render_with(&HTTP, extra)
    }

    /// [`Registry::render`] with the HTTP metrics of `http`.
    fn render_with(&self, http: &Http, extra: &[Sample]) -> String {
        for def in ALWAYS {
            self.add(def, &[], 0.0);
        }
        let mut families = self
            .families
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        http.merge_into(&mut families);
        for (def, labels, v) in extra {
            families
                .entry(def.name)
                .or_insert_with(|| (*def, BTreeMap::new()))
                .1
                .insert(labels.clone(), Value::Number(*v));
        }
        let mut out = String::new();
        for (name, (def, series)) in &families {
            let kind = match def.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
                Kind::Histogram => "histogram",
            };
            let _ = writeln!(out, "# HELP {name} {}\n# TYPE {name} {kind}", def.help);
            for (labels, value) in series {
                match value {
                    Value::Number(x) => {
                        let _ = writeln!(out, "{name}{} {}", label_text(labels, None), number(*x));
                    }
                    Value::Histogram {
                        buckets,
                        sum,
                        count,
                    } => {
                        for (b, le) in buckets.iter().zip(BUCKETS) {
                            let le = number(le);
                            let _ =
                                writeln!(out, "{name}_bucket{} {b}", label_text(labels, Some(&le)));
                        }
                        let all = label_text(labels, Some("+Inf"));
                        let _ = writeln!(out, "{name}_bucket{all} {count}");
                        let plain = label_text(labels, None);
                        let _ = writeln!(out, "{name}_sum{plain} {}", number(*sum));
                        let _ = writeln!(out, "{name}_count{plain} {count}");
                    }
                }
            }
        }
        out
    }
}

/// HTTP request metrics, kept apart from the generic series so that a request records with one short lock
/// and no allocation once its route has been seen (the API answers tens of thousands of requests a second).
#[derive(Debug)]
pub struct Http {
    in_flight: AtomicI64,
    routes: Mutex<BTreeMap<String, Vec<MethodStats>>>,
}

/// One (route, method)'s answers: count per status, and the latency histogram.
#[derive(Debug, Clone)]
struct MethodStats {
    method: &'static str,
    statuses: Vec<(u16, u64)>,
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// This process's HTTP metrics (rendered with [`REGISTRY`]).
pub static HTTP: Http = Http {
    in_flight: AtomicI64::new(0),
    routes: Mutex::new(BTreeMap::new()),
};

/// A request being answered; counted in `laurel_http_requests_in_flight` until dropped.
#[derive(Debug)]
pub struct InFlight<'a>(&'a Http);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Http {
    /// Counts a request as in flight until the guard is dropped (answered, or abandoned mid-way).
    pub fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// Records one answer: route template, method, status code and seconds taken.
    pub fn record(&self, route: &str, method: &'static str, status: u16, secs: f64) {
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        if !routes.contains_key(route) {
            routes.insert(route.to_owned(), Vec::new());
        }
        let methods = routes.get_mut(route).expect("inserted above");
        let i = match methods.iter().position(|m| m.method == method) {
            Some(i) => i,
            None => {
                methods.push(MethodStats {
                    method,
                    statuses: Vec::new(),
                    buckets: [0; BUCKETS.len()],
                    sum: 0.0,
                    count: 0,
                });
                methods.len() - 1
            }
        };
        let m = &mut methods[i];
        match m.statuses.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => m.statuses.push((status, 1)),
        }
        for (b, le) in m.buckets.iter_mut().zip(BUCKETS) {
            if secs <= le {
                *b += 1;
            }
        }
        m.sum += secs;
        m.count += 1;
    }

    /// Adds the HTTP families to `families` (for rendering).
    fn merge_into(&self, families: &mut Families) {
        fn family(families: &mut Families, def: Def) -> &mut BTreeMap<Labels, Value> {
            &mut families
                .entry(def.name)
                .or_insert_with(|| (def, BTreeMap::new()))
                .1
        }
        let in_flight = self.in_flight.load(Ordering::Relaxed) as f64;
        family(families, HTTP_IN_FLIGHT).insert(Vec::new(), Value::Number(in_flight));
        let routes = self
            .routes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for (route, methods) in routes {
            for m in methods {
                let labels = vec![("method", m.method.to_owned()), ("route", route.clone())];
                for (status, n) in &m.statuses {
                    let mut l = labels.clone();
                    l.push(("status", status.to_string()));
                    family(families, HTTP_REQUESTS).insert(l, Value::Number(*n as f64));
                }
                let h = Value::Histogram {
                    buckets: m.buckets,
                    sum: m.sum,
                    count: m.count,
                };
                family(families, HTTP_DURATION).insert(labels, h);
            }
        }
    }
}

/// Labels in name order, so one series has one key (and renders the same) whatever order a caller names them.
fn sorted(labels: &[(&'static str, &str)]) -> Labels {
    let mut l: Labels = labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    l.sort();
    l
}

fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

fn label_text(labels: &Labels, le: Option<&str>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_gauges_and_histograms_render_in_the_text_format() {
        let r = Registry::default();
        r.add(
            HTTP_REQUESTS,
            &[("route", "/v1/types"), ("status", "200")],
            1.0,
        );
        r.add(
            HTTP_REQUESTS,
            &[("route", "/v1/types"), ("status", "200")],
            2.0,
        );
        r.set(INDEXER_BLOCK, &[], 42.0);
        let http = Http {
            in_flight: AtomicI64::new(0),
            routes: Mutex::new(BTreeMap::new()),
        };
        http.record("/x", "GET", 200, 0.03);
        http.record("/x", "GET", 200, 20.0);
        let queue = [(QUEUE_REQUESTS, vec![("status", "pending".into())], 5.0)];
        let text = r.render_with(&http, &queue);
        assert!(
            text.contains("# TYPE laurel_http_requests_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("laurel_http_requests_total{route=\"/v1/types\",status=\"200\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("laurel_indexer_indexed_block 42\n"), "{text}");
        assert!(
            text.contains(
                "laurel_http_request_duration_seconds_bucket{method=\"GET\",route=\"/x\",le=\"0.025\"} 0\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "laurel_http_request_duration_seconds_bucket{method=\"GET\",route=\"/x\",le=\"0.05\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "laurel_http_request_duration_seconds_bucket{method=\"GET\",route=\"/x\",le=\"+Inf\"} 2\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "laurel_http_request_duration_seconds_count{method=\"GET\",route=\"/x\"} 2\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("laurel_queue_requests{status=\"pending\"} 5\n"),
            "{text}"
        );
        assert!(
            text.contains("laurel_worker_batches_sent_total 0\n"),
            "never-recorded metrics show 0: {text}"
        );
        assert_eq!(
            r.value(HTTP_REQUESTS, &[("route", "/v1/types"), ("status", "200")]),
            Some(3.0)
        );
    }

    #[test]
    fn http_answers_are_counted_by_route_method_and_status_and_timed() {
        let h = Http {
            in_flight: AtomicI64::new(0),
            routes: Mutex::new(BTreeMap::new()),
        };
        let guard = h.start();
        h.record("/v1/verify", "GET", 200, 0.002);
        h.record("/v1/verify", "GET", 200, 0.2);
        h.record("/v1/verify", "GET", 400, 0.001);
        h.record("unmatched", "POST", 404, 0.001);
        let mut families = Families::new();
        h.merge_into(&mut families);
        drop(guard);
        let num = |def: Def, l: &[(&'static str, &str)]| match families[def.name].1.get(&sorted(l))
        {
            Some(Value::Number(x)) => Some(*x),
            _ => None,
        };
        assert_eq!(num(HTTP_IN_FLIGHT, &[]), Some(1.0));
        let ok = [
            ("route", "/v1/verify"),
            ("method", "GET"),
            ("status", "200"),
        ];
        assert_eq!(num(HTTP_REQUESTS, &ok), Some(2.0));
        let bad = [
            ("route", "/v1/verify"),
            ("method", "GET"),
            ("status", "400"),
        ];
        assert_eq!(num(HTTP_REQUESTS, &bad), Some(1.0));
        let lost = [
            ("route", "unmatched"),
            ("method", "POST"),
            ("status", "404"),
        ];
        assert_eq!(num(HTTP_REQUESTS, &lost), Some(1.0));
        match families[HTTP_DURATION.name]
            .1
            .get(&sorted(&[("route", "/v1/verify"), ("method", "GET")]))
        {
            Some(Value::Histogram { buckets, count, .. }) => {
                assert_eq!(*count, 3);
                assert_eq!(buckets[0], 2, "two answers within 5 ms");
                assert_eq!(buckets[BUCKETS.len() - 1], 3, "all within 10 s");
            }
            other => panic!("no histogram: {other:?}"),
        }
        assert_eq!(
            h.in_flight.load(Ordering::Relaxed),
            0,
            "the guard ends the request"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        let r = Registry::default();
        r.add(INDEXER_ERRORS, &[("kind", "a\"b\\c\nd")], 1.0);
        let text = r.render(&[]);
        assert!(
            text.contains(r#"laurel_indexer_step_errors_total{kind="a\"b\\c\nd"} 1"#),
            "{text}"
        );
    }
}
