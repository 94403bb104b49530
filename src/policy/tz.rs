//! `fas.tz`, the one native module of the stdlib: civil time in IANA time zones, from
//! the time-zone database compiled into the binary (jiff's bundled copy of the IANA
//! database), so a policy's schedule reads the same on every host, with or without
//! /usr/share/zoneinfo. Daylight-saving rules come from the database, never from
//! tables written here.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use mlua::{Lua, Table};

/// The zone called `name`, or an error that says what a valid name looks like.
pub fn zone(name: &str) -> Result<TimeZone, String> {
    if name.is_empty() {
        return Err("a time zone is needed: an IANA name such as Europe/Berlin, or UTC".into());
    }
    TimeZone::get(name).map_err(|_| {
        format!(
            "unknown time zone {name:?}: use an IANA name such as Europe/Berlin, America/New_York or UTC"
        )
    })
}

/// The civil time of `unix` seconds in `zone`, as the fields a policy reads.
pub struct Civil {
    pub year: i16,
    pub month: i8,
    pub day: i8,
    pub hour: i8,
    pub minute: i8,
    pub second: i8,
    /// ISO weekday: 1 = Monday … 7 = Sunday.
    pub wday: i8,
    pub yday: i16,
    /// Seconds east of UTC in force at that instant.
    pub offset: i32,
    pub abbreviation: String,
}

pub fn civil(unix: f64, zone: &TimeZone) -> Result<Civil, String> {
    if !unix.is_finite() {
        return Err(format!("time {unix} is not a number of seconds"));
    }
    let ts = Timestamp::from_second(unix.floor() as i64).map_err(|e| e.to_string())?;
    let z = zone.to_datetime(ts);
    let info = zone.to_offset_info(ts);
    Ok(Civil {
        year: z.year(),
        month: z.month(),
        day: z.day(),
        hour: z.hour(),
        minute: z.minute(),
        second: z.second(),
        wday: z.weekday().to_monday_one_offset(),
        yday: z.day_of_year(),
        offset: info.offset().seconds(),
        abbreviation: info.abbreviation().to_string(),
    })
}

/// The unix second of a wall-clock time in `zone`. A time the clocks skip (spring
/// forward) resolves after the jump, a time they repeat (fall back) to its first
/// occurrence: the "compatible" rule of RFC 5545, JavaScript's Temporal and Go.
pub fn unix(
    zone: &TimeZone,
    (y, mo, d): (i16, i8, i8),
    (h, mi, s): (i8, i8, i8),
) -> Result<i64, String> {
    let dt = DateTime::new(y, mo, d, h, mi, s, 0).map_err(|e| e.to_string())?;
    let ts = zone
        .to_ambiguous_timestamp(dt)
        .compatible()
        .map_err(|e| e.to_string())?;
    Ok(ts.as_second())
}

fn lua_err(e: String) -> mlua::Error {
    mlua::Error::RuntimeError(e)
}

/// The `fas.tz` table: `civil(unix, zone)`, `offset(unix, zone)` (seconds east of UTC
/// and the abbreviation in force) and `unix(zone, fields)`.
pub fn module(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let civil_fn = lua.create_function(|lua, (unix, name): (f64, String)| {
        let c = civil(unix, &zone(&name).map_err(lua_err)?).map_err(lua_err)?;
        let out = lua.create_table()?;
        out.raw_set("year", c.year)?;
        out.raw_set("month", c.month)?;
        out.raw_set("day", c.day)?;
        out.raw_set("hour", c.hour)?;
        out.raw_set("min", c.minute)?;
        out.raw_set("sec", c.second)?;
        out.raw_set("wday", c.wday)?;
        out.raw_set("yday", c.yday)?;
        out.raw_set("offset", c.offset)?;
        out.raw_set("abbr", c.abbreviation)?;
        Ok(out)
    })?;
    t.raw_set("civil", civil_fn)?;
    let offset_fn = lua.create_function(|_, (unix, name): (f64, String)| {
        let c = civil(unix, &zone(&name).map_err(lua_err)?).map_err(lua_err)?;
        Ok((c.offset, c.abbreviation))
    })?;
    t.raw_set("offset", offset_fn)?;
    let unix_fn = lua.create_function(|_, (name, f): (String, Table)| {
        let tz = zone(&name).map_err(lua_err)?;
        let field = |k: &str, default: Option<i64>| -> mlua::Result<i64> {
            match f.get::<Option<i64>>(k)? {
                Some(v) => Ok(v),
                None => {
                    default.ok_or_else(|| lua_err(format!("fas.tz.unix: field {k} is missing")))
                }
            }
        };
        let small = |k: &str, v: i64| {
            i8::try_from(v).map_err(|_| lua_err(format!("fas.tz.unix: {k} {v} is out of range")))
        };
        let year = field("year", None)?;
        let year = i16::try_from(year)
            .map_err(|_| lua_err(format!("fas.tz.unix: year {year} is out of range")))?;
        let date = (
            year,
            small("month", field("month", None)?)?,
            small("day", field("day", None)?)?,
        );
        let time = (
            small("hour", field("hour", Some(0))?)?,
            small("min", field("min", Some(0))?)?,
            small("sec", field("sec", Some(0))?)?,
        );
        unix(&tz, date, time).map_err(|e| lua_err(format!("fas.tz.unix: {e}")))
    })?;
    t.raw_set("unix", unix_fn)?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn berlin_springs_forward_on_the_last_sunday_of_march() {
        let berlin = zone("Europe/Berlin").unwrap();
        // 2026-03-29 00:59:59 UTC is 01:59:59 CET; one second later it is 03:00 CEST.
        let before = civil(1_774_745_999.0, &berlin).unwrap();
        assert_eq!((before.hour, before.minute, before.offset), (1, 59, 3600));
        let after = civil(1_774_746_000.0, &berlin).unwrap();
        assert_eq!((after.hour, after.minute, after.offset), (3, 0, 7200));
        assert_eq!(after.abbreviation, "CEST");
        // 02:30 does not exist that day: it resolves after the jump, to 03:30 CEST.
        let t = unix(&berlin, (2026, 3, 29), (2, 30, 0)).unwrap();
        assert_eq!(t, 1_774_747_800);
    }

    #[test]
    fn an_unknown_zone_is_named_with_what_to_use() {
        let e = zone("Europe/Berln").unwrap_err();
        assert!(e.contains("Europe/Berln") && e.contains("IANA"), "{e}");
    }
}
