//! Metric history for `fas simulate`: a CSV file (`timestamp,metric,...`, one row per
//! step; timestamps in unix seconds or RFC 3339) or a Prometheus range query.

use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub struct History {
    pub names: Vec<String>,
    /// (unix seconds, one value per name), ascending.
    pub rows: Vec<(f64, Vec<f64>)>,
}

/// RFC 3339 UTC (`2024-01-01T00:00:00Z`, fractions and offsets allowed) to unix seconds.
pub fn parse_time(s: &str) -> Option<f64> {
    if let Ok(v) = s.parse::<f64>() {
        return Some(v);
    }
    let (date, rest) = s.split_once(['T', ' '])?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (clock, offset) = if let Some(c) = rest.strip_suffix('Z') {
        (c, 0.0)
    } else if let Some(i) = rest.rfind(['+', '-']).filter(|i| *i > 0) {
        let (c, o) = rest.split_at(i);
        let sign = if o.starts_with('-') { -1.0 } else { 1.0 };
        let mut hm = o[1..].split(':').map(|p| p.parse::<f64>());
        let h = hm.next()?.ok()?;
        let mins = hm.next().and_then(Result::ok).unwrap_or(0.0);
        (c, sign * (h * 3600.0 + mins * 60.0))
    } else {
        (rest, 0.0)
    };
    let mut c = clock.split(':');
    let (hh, mm, ss) = (
        c.next()?.parse::<f64>().ok()?,
        c.next()?.parse::<f64>().ok()?,
        c.next().unwrap_or("0").parse::<f64>().ok()?,
    );
    // Days from the civil date (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days as f64 * 86_400.0 + hh * 3600.0 + mm * 60.0 + ss - offset)
}

impl History {
    pub fn from_csv(path: &Path) -> Result<History, String> {
        let text = crate::fileread::read(path, crate::fileread::Kind::History)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Self::parse_csv(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse_csv(text: &str) -> Result<History, String> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
        let (_, header) = lines
            .next()
            .ok_or("empty file: expected a header `timestamp,metric,...`")?;
        let cols: Vec<&str> = header.split(',').map(str::trim).collect();
        if cols.len() < 2 || !cols[0].eq_ignore_ascii_case("timestamp") {
            return Err("line 1: the header must be `timestamp,metric[,metric...]`".into());
        }
        let names: Vec<String> = cols[1..].iter().map(|s| s.to_string()).collect();
        let mut rows: Vec<(f64, Vec<f64>)> = Vec::new();
        for (i, line) in lines {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            if cells.len() != cols.len() {
                return Err(format!(
                    "line {}: {} values, the header has {}",
                    i + 1,
                    cells.len(),
                    cols.len()
                ));
            }
            let t = parse_time(cells[0])
                .ok_or_else(|| format!("line {}: bad timestamp {:?}", i + 1, cells[0]))?;
            let values = cells[1..]
                .iter()
                .map(|c| {
                    crate::collect::parse_value(c)
                        .ok_or_else(|| format!("line {}: {c:?} is not a number", i + 1))
                })
                .collect::<Result<Vec<f64>, String>>()?;
            if rows.last().is_some_and(|(prev, _)| *prev >= t) {
                return Err(format!("line {}: timestamps must increase", i + 1));
            }
            rows.push((t, values));
        }
        if rows.len() < 2 {
            return Err("at least two rows are needed".into());
        }
        Ok(History { names, rows })
    }

    /// One metric from a Prometheus range query (`query_range`).
    pub async fn from_prometheus(
        url: &str,
        query: &str,
        name: &str,
        start: f64,
        end: f64,
        step: f64,
    ) -> Result<History, String> {
        let client =
            prometheus_http_query::Client::from(reqwest::Client::new(), url.trim_end_matches('/'))
                .map_err(|e| format!("prometheus address {url:?}: {e}"))?;
        // A one-shot read of a history the user asked for: the crate's unbounded read
        // is acceptable here (the serving collector caps its reads).
        let result = client
            .query_range(query, start as i64, end as i64, step)
            .get()
            .await
            .map_err(|e| format!("prometheus: {}", crate::error_chain(&e)))?;
        let series = match result.data() {
            prometheus_http_query::response::Data::Matrix(m) => m.first(),
            _ => None,
        }
        .ok_or("the query returned no series")?;
        let rows: Vec<(f64, Vec<f64>)> = series
            .samples()
            .iter()
            .map(|p| (p.timestamp(), vec![p.value()]))
            .collect();
        if rows.len() < 2 {
            return Err("the query returned fewer than two points".into());
        }
        Ok(History {
            names: vec![name.to_string()],
            rows,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_csv() {
        assert_eq!(parse_time("2024-01-01T00:00:00Z"), Some(1_704_067_200.0));
        assert_eq!(
            parse_time("2024-01-01T01:00:00+01:00"),
            Some(1_704_067_200.0)
        );
        assert_eq!(parse_time("1704067200"), Some(1_704_067_200.0));
        let h = History::parse_csv(
            "timestamp,q,r\n2024-01-01T00:00:00Z,1,2\n2024-01-01T00:00:15Z,3,NaN\n",
        )
        .unwrap();
        assert_eq!(h.names, ["q", "r"]);
        assert_eq!(h.rows[1].0 - h.rows[0].0, 15.0);
        assert!(History::parse_csv("timestamp,q\n10,1\n5,2\n")
            .unwrap_err()
            .contains("line 3: timestamps must increase"));
        assert!(History::parse_csv("time,q\n").is_err());
    }
}
