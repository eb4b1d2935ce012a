//! Model names: normalisation, version suffixes (`-2024-11-20`, `-0125`, `-preview`), and how a
//! rate's `version` matches a call's.

/// Lower-case, trimmed, without a registry prefix (`azureml://…/gpt-4o` → `gpt-4o`).
pub(crate) fn normalize(model: &str) -> String {
    let name = model.trim().to_ascii_lowercase();
    match name.rsplit_once('/') {
        Some((_, tail)) => tail.to_string(),
        None => name,
    }
}

/// One version suffix removed, with the removed version when it is a date:
/// `gpt-4o-2024-11-20` → (`gpt-4o`, `2024-11-20`), `gpt-35-turbo-0125` → (`gpt-35-turbo`,
/// `0125`), `o1-preview` → (`o1`, none).
pub(crate) fn strip_version_suffix(m: &str) -> Option<(&str, Option<&str>)> {
    let parts: Vec<&str> = m.rsplitn(4, '-').collect();
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if parts.len() == 4
        && parts[2].len() == 4
        && parts[1].len() == 2
        && parts[0].len() == 2
        && parts[..3].iter().all(|p| digits(p))
    {
        let cut = m.len() - 11;
        return Some((&m[..cut], Some(&m[cut + 1..])));
    }
    let (head, last) = m.rsplit_once('-')?;
    if last.len() == 4 && digits(last) {
        return Some((head, Some(last)));
    }
    if last == "preview" || last == "latest" {
        return Some((head, None));
    }
    None
}

/// True when a rate's version names the call's version. Versions compare exactly, except that
/// Azure's short `MMDD` form (as in meter names: `1120`) matches a full `YYYY-MM-DD` version with
/// the same month and day (`2024-11-20`).
pub(crate) fn version_matches(rate: &str, call: &str) -> bool {
    let (r, c) = (rate.trim(), call.trim());
    if r.eq_ignore_ascii_case(c) {
        return true;
    }
    match (month_day(r), month_day(c)) {
        (Some(a), Some(b)) => a == b && (r.len() == 4 || c.len() == 4),
        _ => false,
    }
}

/// `MMDD` of a `MMDD` or `YYYY-MM-DD` version.
fn month_day(v: &str) -> Option<String> {
    let b = v.as_bytes();
    let all_digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    if b.len() == 4 && all_digits(b) {
        return Some(v.to_string());
    }
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' && all_digits(&b[..4]) {
        return Some(format!("{}{}", &v[5..7], &v[8..10]));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_suffixes_come_off_one_at_a_time() {
        assert_eq!(
            strip_version_suffix("gpt-4o-2024-11-20"),
            Some(("gpt-4o", Some("2024-11-20")))
        );
        assert_eq!(
            strip_version_suffix("gpt-35-turbo-0125"),
            Some(("gpt-35-turbo", Some("0125")))
        );
        assert_eq!(strip_version_suffix("o1-preview"), Some(("o1", None)));
        assert_eq!(strip_version_suffix("gpt-4o-mini"), None);
        assert_eq!(
            normalize(" azureml://registries/azure-openai/models/GPT-4o "),
            "gpt-4o"
        );
    }

    #[test]
    fn a_short_meter_version_matches_the_full_date_with_the_same_month_and_day() {
        assert!(version_matches("1120", "2024-11-20"));
        assert!(version_matches("2024-11-20", "1120"));
        assert!(version_matches("2024-11-20", "2024-11-20"));
        assert!(!version_matches("2024-11-20", "2025-11-20"));
        assert!(!version_matches("0513", "2024-11-20"));
        assert!(!version_matches("0125", "1106"));
    }
}
