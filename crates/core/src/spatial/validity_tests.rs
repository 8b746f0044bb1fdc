//! Unit tests of `validity`: known invalid shapes (OGC's classic table, on great-circle edges) and
//! valid ones that a planar lon/lat check would misjudge.

use super::*;

/// A closed ring from `(lon, lat)` positions (the first is repeated at the end).
fn ring(coords: &[(f64, f64)]) -> Vec<LatLon> {
    let mut r: Vec<LatLon> = coords
        .iter()
        .map(|&(lon, lat)| LatLon::new(lat, lon).unwrap())
        .collect();
    r.push(r[0]);
    r
}

/// A square of side `s` degrees with its south-west corner at `(lon, lat)`.
fn square(lon: f64, lat: f64, s: f64) -> Vec<LatLon> {
    ring(&[
        (lon, lat),
        (lon + s, lat),
        (lon + s, lat + s),
        (lon, lat + s),
    ])
}

fn reasons(polys: &[Rings]) -> Vec<String> {
    problems(polys).into_iter().map(|p| p.reason).collect()
}

fn assert_refused(polys: &[Rings], words: &str) -> Vec<Problem> {
    let found = problems(polys);
    assert!(
        found.iter().any(|p| p.reason.contains(words)),
        "expected a problem saying {words:?}, got {found:?}"
    );
    found
}

#[test]
fn a_square_with_a_hole_inside_is_valid() {
    let outer = square(2.30, 48.85, 0.01);
    let hole = square(2.303, 48.853, 0.003);
    assert_eq!(reasons(&[vec![outer, hole]]), Vec::<String>::new());
}

#[test]
fn a_bowtie_crosses_itself() {
    let bowtie = ring(&[(2.30, 48.85), (2.31, 48.86), (2.31, 48.85), (2.30, 48.86)]);
    let found = assert_refused(
        &[vec![bowtie]],
        "the exterior ring crosses or touches itself near",
    );
    assert_eq!((found[0].part, found[0].ring), (0, Some(0)));
}

#[test]
fn a_ring_revisiting_one_of_its_vertices_touches_itself() {
    // Two triangles joined at (2.31, 48.86): an "inverted hole" shape OGC refuses.
    let figure_eight = ring(&[
        (2.30, 48.85),
        (2.32, 48.85),
        (2.31, 48.86),
        (2.32, 48.87),
        (2.30, 48.87),
        (2.31, 48.86),
    ]);
    assert_refused(&[vec![figure_eight]], "crosses or touches itself");
}

#[test]
fn a_spike_back_along_an_edge_is_refused() {
    let spike = ring(&[
        (2.30, 48.85),
        (2.31, 48.85),
        (2.32, 48.85),
        (2.31, 48.85),
        (2.31, 48.86),
    ]);
    assert_refused(&[vec![spike]], "spike");
}

#[test]
fn positions_on_one_line_have_zero_area() {
    // Along the equator, a great circle: exactly collinear on the sphere as well.
    let flat = ring(&[(10.0, 0.0), (11.0, 0.0), (12.0, 0.0)]);
    assert_refused(&[vec![flat]], "zero area");
}

#[test]
fn repeated_consecutive_positions_are_harmless_but_three_distinct_ones_are_needed() {
    let mut repeated = square(2.30, 48.85, 0.01);
    repeated.insert(1, repeated[0]);
    repeated.insert(3, repeated[2]);
    assert_eq!(reasons(&[vec![repeated]]), Vec::<String>::new());
    let two = ring(&[(2.30, 48.85), (2.31, 48.85), (2.31, 48.85)]);
    assert_refused(&[vec![two]], "at least 3 distinct positions");
}

#[test]
fn a_hole_outside_its_shell_is_refused() {
    let outer = square(2.30, 48.85, 0.01);
    let hole = square(2.33, 48.85, 0.003);
    let found = assert_refused(
        &[vec![outer, hole]],
        "hole 1 is not inside the exterior ring",
    );
    assert_eq!(found[0].ring, Some(1));
}

#[test]
fn a_hole_crossing_its_shell_is_refused() {
    let outer = square(2.30, 48.85, 0.01);
    let hole = square(2.305, 48.855, 0.01);
    assert_refused(&[vec![outer, hole]], "the exterior ring and hole 1 cross");
}

#[test]
fn overlapping_and_nested_holes_are_refused() {
    let outer = square(2.30, 48.85, 0.01);
    let (a, b) = (square(2.301, 48.851, 0.004), square(2.303, 48.853, 0.004));
    assert_refused(&[vec![outer.clone(), a, b]], "hole 1 and hole 2 cross");
    let (big, small) = (square(2.301, 48.851, 0.006), square(2.303, 48.853, 0.001));
    assert_refused(&[vec![outer, big, small]], "one lies inside the other");
}

#[test]
fn a_hole_touching_its_shell_at_one_point_is_valid_but_at_two_points_is_not() {
    let outer = square(0.0, 0.0, 1.0);
    // A diamond whose west corner is on the shell's west edge (a meridian: exact on the sphere).
    let once = ring(&[(0.0, 0.5), (0.5, 0.2), (0.8, 0.5), (0.5, 0.8)]);
    assert_eq!(reasons(&[vec![outer.clone(), once]]), Vec::<String>::new());
    let twice = ring(&[(0.0, 0.5), (0.5, 0.2), (1.0, 0.5), (0.5, 0.8)]);
    assert_refused(
        &[vec![outer.clone(), twice]],
        "touch at more than one point",
    );
    // Sharing a stretch of the west edge is not a touch at a point.
    let along = ring(&[(0.0, 0.3), (0.5, 0.3), (0.5, 0.6), (0.0, 0.6)]);
    assert_refused(&[vec![outer, along]], "share a stretch of boundary");
}

#[test]
fn holes_touching_in_a_cycle_cut_the_interior() {
    let outer = square(0.0, 0.0, 1.0);
    // Three triangles, each touching the next at a point: the middle of the shape is cut off.
    let h1 = ring(&[(0.2, 0.2), (0.5, 0.2), (0.35, 0.4)]);
    let h2 = ring(&[(0.5, 0.2), (0.8, 0.2), (0.65, 0.4)]);
    let h3 = ring(&[(0.35, 0.4), (0.65, 0.4), (0.5, 0.6)]);
    assert_refused(&[vec![outer, h1, h2, h3]], "enclosing part of the interior");
}

#[test]
fn overlapping_parts_of_a_multipolygon_are_refused_and_named() {
    let found = assert_refused(
        &[square(2.30, 48.85, 0.01), square(2.305, 48.855, 0.01)].map(|r| vec![r]),
        "parts 0 and 1 overlap",
    );
    assert_eq!((found[0].part, found[0].ring), (1, None));
    // A part inside another (no boundary crossing) and an exact copy overlap too.
    assert_refused(
        &[square(2.30, 48.85, 0.01), square(2.303, 48.853, 0.002)].map(|r| vec![r]),
        "overlap",
    );
    assert_refused(
        &[square(2.30, 48.85, 0.01), square(2.30, 48.85, 0.01)].map(|r| vec![r]),
        "overlap",
    );
}

#[test]
fn parts_sharing_an_edge_touching_at_a_corner_or_nested_in_a_hole_are_valid() {
    let side_by_side = [square(0.0, 0.0, 1.0), square(1.0, 0.0, 1.0)].map(|r| vec![r]);
    assert_eq!(reasons(&side_by_side), Vec::<String>::new());
    let corner = [square(0.0, 0.0, 1.0), square(1.0, 1.0, 1.0)].map(|r| vec![r]);
    assert_eq!(reasons(&corner), Vec::<String>::new());
    let island = [
        vec![square(0.0, 0.0, 1.0), square(0.2, 0.2, 0.6)],
        vec![square(0.4, 0.4, 0.2)],
    ];
    assert_eq!(reasons(&island), Vec::<String>::new());
    // RFC 7946 section 3.1.9: a box cut at the antimeridian into two parts sharing that edge.
    let cut = [
        vec![ring(&[
            (180.0, 40.0),
            (180.0, 50.0),
            (170.0, 50.0),
            (170.0, 40.0),
        ])],
        vec![ring(&[
            (-170.0, 40.0),
            (-170.0, 50.0),
            (-180.0, 50.0),
            (-180.0, 40.0),
        ])],
    ];
    assert_eq!(reasons(&cut), Vec::<String>::new());
}

#[test]
fn rings_across_the_antimeridian_and_around_a_pole_are_valid_and_judged_on_the_sphere() {
    let fiji = ring(&[
        (179.5, -17.0),
        (-179.5, -17.0),
        (-179.5, -16.0),
        (179.5, -16.0),
    ]);
    assert_eq!(reasons(&[vec![fiji]]), Vec::<String>::new());
    let north: Vec<(f64, f64)> = (0..8)
        .map(|k| (f64::from(k) * 45.0 - 180.0, 85.0))
        .collect();
    assert_eq!(reasons(&[vec![ring(&north)]]), Vec::<String>::new());
    // The same ring with two vertices swapped crosses itself around the pole.
    let mut crossed = north.clone();
    crossed.swap(1, 2);
    assert_refused(&[vec![ring(&crossed)]], "crosses or touches itself");
    // A bowtie across the antimeridian.
    let am_bowtie = ring(&[
        (179.5, -17.0),
        (-179.5, -16.0),
        (-179.5, -17.0),
        (179.5, -16.0),
    ]);
    assert_refused(&[vec![am_bowtie]], "crosses or touches itself");
}

#[test]
fn a_ring_simple_in_lon_lat_can_cross_itself_on_great_circles() {
    // The southern edge runs along 60N in lon/lat but its great circle bulges to 67.8N at 45E,
    // above the notch at (45E, 65N): on the sphere the notch's edges cross it.
    let notch = ring(&[
        (0.0, 60.0),
        (90.0, 60.0),
        (90.0, 70.0),
        (45.0, 65.0),
        (0.0, 70.0),
    ]);
    assert_refused(&[vec![notch]], "crosses or touches itself");
    // A notch above the bulge is fine.
    let clear = ring(&[
        (0.0, 60.0),
        (90.0, 60.0),
        (90.0, 72.0),
        (45.0, 69.0),
        (0.0, 72.0),
    ]);
    assert_eq!(reasons(&[vec![clear]]), Vec::<String>::new());
}

#[test]
fn a_triangle_spanning_a_third_of_the_globe_is_valid_and_a_hemisphere_is_not() {
    let third = ring(&[(0.0, 0.0), (120.0, 10.0), (120.0, -10.0)]);
    assert_eq!(reasons(&[vec![third]]), Vec::<String>::new());
    let half = ring(&[(0.0, 0.0), (120.0, 0.0), (-120.0, 0.0)]);
    assert_refused(&[vec![half]], "inside a hemisphere");
}

#[test]
fn every_problem_of_every_part_is_reported() {
    let bowtie = ring(&[(2.30, 48.85), (2.31, 48.86), (2.31, 48.85), (2.30, 48.86)]);
    let holed = vec![square(3.0, 48.0, 0.01), square(3.1, 48.0, 0.001)];
    let found = problems(&[vec![bowtie], holed]);
    let at: Vec<(usize, Option<usize>)> = found.iter().map(|p| (p.part, p.ring)).collect();
    assert_eq!(at, [(0, Some(0)), (1, Some(1))], "{found:?}");
}
