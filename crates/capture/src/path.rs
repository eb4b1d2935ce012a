//! The partition id from a Capture file's path. The documented default name format is
//! `{Namespace}/{EventHub}/{PartitionId}/{Year}/{Month}/{Day}/{Hour}/{Minute}/{Second}` (with
//! `.avro` appended); the path may carry more leading components (a local directory, a
//! container). The six time components are checked to be digits, so an unrelated path gives
//! `None` rather than a wrong partition.

/// The `{PartitionId}` of a Capture path, or `None` when the path does not end in the
/// documented format. Accepts `/` and `\` separators.
pub fn partition_from_path(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split(['/', '\\']).filter(|s| !s.is_empty()).collect();
    if segments.len() < 7 {
        return None;
    }
    let tail = &segments[segments.len() - 7..];
    let second = tail[6].strip_suffix(".avro").unwrap_or(tail[6]);
    let widths = [
        (tail[1], 4),
        (tail[2], 2),
        (tail[3], 2),
        (tail[4], 2),
        (tail[5], 2),
        (second, 2),
    ];
    let all_digits = widths
        .iter()
        .all(|(s, w)| s.len() == *w && s.bytes().all(|b| b.is_ascii_digit()));
    let partition = tail[0];
    (all_digits && !partition.is_empty()).then(|| partition.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_partition_is_the_component_before_the_year() {
        assert_eq!(
            partition_from_path("ns-apim/apim-logs/3/2026/11/30/23/55/07.avro").as_deref(),
            Some("3")
        );
        assert_eq!(
            partition_from_path("/tmp/capture/ns/hub/12/2026/01/02/03/04/05.avro").as_deref(),
            Some("12")
        );
        assert_eq!(
            partition_from_path(r"C:\cap\ns\hub\0\2026\01\02\03\04\05.avro").as_deref(),
            Some("0")
        );
    }

    #[test]
    fn a_path_not_in_the_capture_format_has_no_partition() {
        for p in [
            "events.avro",
            "a/b/c/2026/11/30/23/55.avro",
            "ns/hub/1/26/11/30/23/55/07.avro",
        ] {
            assert_eq!(partition_from_path(p), None, "{p}");
        }
    }
}
