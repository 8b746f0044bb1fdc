//! Printing a fan-out run: per side, memory, deliveries, latency quantiles, where the time went
//! (acknowledgement, first, median and last client) and CPU per delivery; then the lines for
//! BENCHMARKS.md and the ratio to the Redis anchor.

use serde_json::Value;

use crate::{Phase, Settings};

fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn f(v: &Value, path: &[&str]) -> f64 {
    path.iter()
        .fold(v, |v, k| &v[*k])
        .as_f64()
        .unwrap_or(f64::NAN)
}

fn per_connection_kib(p: &Phase) -> f64 {
    let n = p.subscribed["subscribed"].as_f64().unwrap_or(0.0).max(1.0);
    (p.rss_idle as f64 - p.rss_before as f64) / n
}

pub fn report(p: &Phase) {
    let r = &p.result;
    let deliveries = f(r, &["deliveries"]);
    let expected = f(r, &["expected"]);
    println!(
        "fanout {}: {} subscribed in {:.1} s ({} failed); delivering process RSS {:.1} MiB before, \
         {:.1} MiB with them idle ({:.2} KiB per connection), {:.1} MiB after the messages; \
         generator RSS {:.1} MiB",
        p.name,
        p.subscribed["subscribed"],
        f(&p.subscribed, &["seconds"]),
        p.subscribed["failed"],
        p.rss_before as f64 / 1024.0,
        p.rss_idle as f64 / 1024.0,
        per_connection_kib(p),
        p.rss_after as f64 / 1024.0,
        p.generator_rss_idle as f64 / 1024.0,
    );
    println!(
        "fanout {}: {deliveries}/{expected} deliveries ({} lost, {} duplicated, {} unexpected, \
         {} clients disconnected); frame {} bytes{}",
        p.name,
        expected - deliveries,
        r["duplicates"],
        r["unexpected"],
        r["disconnected"],
        r["frame_bytes"],
        p.receivers
            .map(|n| format!("; PUBLISH reached {n} subscribers"))
            .unwrap_or_default()
    );
    println!(
        "fanout {}: latency over {} measured deliveries: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, \
         p99.9 {:.1} ms, max {:.1} ms",
        p.name,
        r["measured"]["deliveries"],
        f(r, &["measured", "p50_ms"]),
        f(r, &["measured", "p90_ms"]),
        f(r, &["measured", "p99_ms"]),
        f(r, &["measured", "p999_ms"]),
        f(r, &["measured", "max_ms"]),
    );
    let per: Vec<&Value> = r["per_message"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let measured: Vec<&Value> = per.iter().skip(p.warmup).copied().collect();
    let col = |k: &str| -> Vec<f64> { measured.iter().map(|m| f(m, &[k])).collect() };
    let acks = p.acks_ms.get(p.warmup..).unwrap_or_default();
    let (first, p50, last) = (col("first_ms"), col("p50_ms"), col("last_ms"));
    let spread: Vec<f64> = first.iter().zip(&last).map(|(a, b)| b - a).collect();
    println!(
        "fanout {}: per message (medians): acknowledged to the sender after {:.1} ms, first client \
         {:.1} ms, half the clients {:.1} ms, last client {:.1} ms (first-to-last spread {:.1} ms)",
        p.name,
        median(acks),
        median(&first),
        median(&p50),
        median(&last),
        median(&spread),
    );
    let delivered = deliveries.max(1.0);
    let net_s = p.server_cpu_s - p.idle_cpu_per_s * p.window_s;
    println!(
        "fanout {}: CPU over the {:.1} s message window: delivering process {:.2} s ({:.1} us per \
         delivery; {:.1} us net of its idle use, {:.1}% of a core with every client idle), \
         generator {:.2} s ({:.1} us per delivery)",
        p.name,
        p.window_s,
        p.server_cpu_s,
        p.server_cpu_s * 1e6 / delivered,
        net_s * 1e6 / delivered,
        p.idle_cpu_per_s * 100.0,
        p.generator_cpu_s,
        p.generator_cpu_s * 1e6 / delivered,
    );
    let lasts: Vec<String> = per
        .iter()
        .map(|m| format!("{:.0}", f(m, &["last_ms"])))
        .collect();
    println!(
        "fanout {}: last-client latency per message, ms: {}",
        p.name,
        lasts.join(" ")
    );
}

pub fn summary_lines(settings: &Settings, ours: &Phase, anchor: Option<&Phase>) {
    let p99 = f(&ours.result, &["measured", "p99_ms"]);
    let lost = f(&ours.result, &["expected"]) - f(&ours.result, &["deliveries"]);
    println!("\nlines for BENCHMARKS.md:");
    println!(
        "fanout nenufar: {} idle WebSocket clients, 1 hunt-wide event/s, {} events: p50 {:.1} ms, \
         p99 {p99:.1} ms, {lost} lost; {:.2} KiB per idle connection",
        settings.clients,
        settings.events,
        f(&ours.result, &["measured", "p50_ms"]),
        per_connection_kib(ours),
    );
    if let Some(a) = anchor {
        let redis_p99 = f(&a.result, &["measured", "p99_ms"]);
        println!(
            "fanout Redis pub/sub: {} subscribers, 1 message/s, {} messages of {} bytes: p50 {:.1} ms, \
             p99 {redis_p99:.1} ms, {} lost; {:.2} KiB per subscriber in redis-server",
            settings.clients,
            settings.events,
            a.result["frame_bytes"],
            f(&a.result, &["measured", "p50_ms"]),
            f(&a.result, &["expected"]) - f(&a.result, &["deliveries"]),
            per_connection_kib(a),
        );
        println!(
            "fanout ratio: nenufar p99 / Redis p99 = {:.2} (goal <= 1), nenufar p99 {} 250 ms",
            p99 / redis_p99,
            if p99 < 250.0 { "<" } else { ">=" }
        );
    }
}
