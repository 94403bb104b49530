//! The `Authorization` header as fly-go builds it from a token string.

/// Macaroon tokens (`fm1r_`, `fm1a_`, `fm2_`) go as `FlyV1 a,b`; anything else as
/// `Bearer`. Schemes already written in front of the token are stripped first, so
/// `FlyV1 fm2_…` (what `fly tokens create` prints) and a bare `fm2_…` both work.
/// For the Machines API only macaroons are sent when there are any; GraphQL gets the
/// macaroons and then the other tokens.
pub fn header(token: &str, graphql: bool) -> Option<String> {
    let mut rest = token.trim();
    loop {
        let lower = rest.to_ascii_lowercase();
        if let Some(n) = ["bearer ", "flyv1 "]
            .iter()
            .find(|p| lower.starts_with(*p))
            .map(|p| p.len())
        {
            rest = rest[n..].trim_start();
        } else {
            break;
        }
    }
    let pieces: Vec<&str> = rest
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if pieces.is_empty() {
        return None;
    }
    let is_macaroon = |p: &&str| matches!(p.split('_').next(), Some("fm1r" | "fm1a" | "fm2"));
    let (macaroons, others): (Vec<&str>, Vec<&str>) = pieces.into_iter().partition(is_macaroon);
    if macaroons.is_empty() {
        return Some(format!("Bearer {}", others.join(",")));
    }
    let mut all = macaroons;
    if graphql {
        all.extend(others);
    }
    Some(format!("FlyV1 {}", all.join(",")))
}

#[cfg(test)]
mod tests {
    use super::header;

    #[test]
    fn follows_fly_go() {
        assert_eq!(
            header("FlyV1 fm2_a,fm2_b", false).unwrap(),
            "FlyV1 fm2_a,fm2_b"
        );
        assert_eq!(header("fm2_a", false).unwrap(), "FlyV1 fm2_a");
        assert_eq!(
            header("Bearer FlyV1 fm1r_x", false).unwrap(),
            "FlyV1 fm1r_x"
        );
        assert_eq!(header("oauth-token", false).unwrap(), "Bearer oauth-token");
        assert_eq!(header("fm2_a, user1", false).unwrap(), "FlyV1 fm2_a");
        assert_eq!(header("fm2_a, user1", true).unwrap(), "FlyV1 fm2_a,user1");
        assert_eq!(header("  ", false), None);
    }
}
