"""The provisioned Grafana dashboard and the Prometheus config use the metric names the API serves."""

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_the_dashboard_queries_only_documented_metrics() -> None:
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/catgan.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    names = {re.sub(r"_(bucket|count|sum)$", "", n) for e in exprs for n in re.findall(r"\bcatgan_\w+", e)}
    assert len(names) >= 8
    for name in names:
        assert f"`{name}`" in README, name


def test_prometheus_scrapes_the_api_metrics_path() -> None:
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    [api] = [job for job in config["scrape_configs"] if job["job_name"] == "catgan-api"]
    assert api["metrics_path"] == "/metrics" and api["static_configs"][0]["targets"] == ["api:8000"]
