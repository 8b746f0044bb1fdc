//! Tests of the recorder: buckets per histogram, labels, and the exposition text.

use super::*;

#[test]
fn every_histogram_has_its_own_buckets_and_renders_as_a_histogram() {
    let m = Metrics::new();
    m.checkin_batch_size.record(3.0);
    m.http_request(
        "POST",
        "/v1/hunts/{hunt_id}/checkins",
        201,
        Duration::from_millis(2),
    );
    let text = m.render();
    assert!(
        text.contains("nenufar_checkin_batch_size_bucket{le=\"4\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("nenufar_checkin_batch_size_bucket{le=\"2\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("nenufar_http_request_duration_seconds_bucket{method=\"POST\",route=\"/v1/hunts/{hunt_id}/checkins\",status=\"201\",le=\"0.0025\"} 1"),
        "{text}"
    );
    for (name, kind, _) in SERIES {
        if matches!(kind, Kind::Histogram) {
            assert!(
                BUCKETS.iter().any(|(n, _)| n == name),
                "{name} has no buckets"
            );
        }
    }
}

#[test]
fn two_nodes_in_one_process_count_apart() {
    let (a, b) = (Metrics::new(), Metrics::new());
    a.checkins.increment(2);
    b.checkins.increment(1);
    assert!(a.render().contains("nenufar_checkins_total 2"));
    assert!(b.render().contains("nenufar_checkins_total 1"));
}

#[test]
fn status_labels_stay_few() {
    assert_eq!(status_label(201), "201");
    assert_eq!(status_label(418), "4xx");
    assert_eq!(status_label(599), "5xx");
}
