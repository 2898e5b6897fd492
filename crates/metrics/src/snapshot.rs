//! [`Snapshot`]: families whose values are read at scrape time (gauges of the current state,
//! and counters kept elsewhere, such as Raft's snapshots), encoded with the event families.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

/// A sample's labels, in order: `[("state", "running".into())]`.
pub type Labels = Vec<(&'static str, String)>;

/// The families of one scrape, in the order they were added.
#[derive(Debug, Default)]
pub struct Snapshot {
    families: Vec<ConstFamily>,
}

/// One family of a [`Snapshot`]: name (without the `swarmd_` prefix, nor `_total` for a
/// counter), help, and its samples.
#[derive(Debug)]
pub struct ConstFamily {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    samples: Vec<(Labels, i64)>,
}

impl Snapshot {
    /// A new gauge family; add its samples with [`ConstFamily::sample`].
    pub fn gauge(&mut self, name: &'static str, help: &'static str) -> &mut ConstFamily {
        self.family(name, help, MetricType::Gauge)
    }

    /// A new counter family, for totals kept elsewhere that only grow.
    pub fn counter(&mut self, name: &'static str, help: &'static str) -> &mut ConstFamily {
        self.family(name, help, MetricType::Counter)
    }

    fn family(
        &mut self,
        name: &'static str,
        help: &'static str,
        kind: MetricType,
    ) -> &mut ConstFamily {
        self.families.push(ConstFamily {
            name,
            help,
            kind,
            samples: Vec::new(),
        });
        self.families.last_mut().expect("just pushed")
    }

    /// Adds `other`'s families after these.
    pub fn extend(&mut self, other: Snapshot) {
        self.families.extend(other.families);
    }

    /// The value of `name`'s sample with exactly `labels`, if there is one (tests).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<i64> {
        let family = self.families.iter().find(|f| f.name == name)?;
        family
            .samples
            .iter()
            .find(|(l, _)| {
                l.len() == labels.len()
                    && l.iter()
                        .zip(labels)
                        .all(|((k, v), (k2, v2))| k == k2 && v == v2)
            })
            .map(|(_, v)| *v)
    }
}

impl ConstFamily {
    /// One sample. Counters take only values ≥ 0 (a negative one is written as 0).
    pub fn sample(&mut self, labels: Labels, value: i64) -> &mut Self {
        self.samples.push((labels, value));
        self
    }
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for f in &self.families {
            let mut family = encoder.encode_descriptor(f.name, f.help, None, f.kind)?;
            for (labels, value) in &f.samples {
                let sample = family.encode_family(labels)?;
                match f.kind {
                    MetricType::Counter => {
                        ConstCounter::new(u64::try_from(*value).unwrap_or(0)).encode(sample)?
                    }
                    _ => ConstGauge::new(*value).encode(sample)?,
                }
            }
        }
        Ok(())
    }
}
