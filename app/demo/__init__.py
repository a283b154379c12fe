"""A synthetic demo hospital, built through the real services (see app.demo.hospital)."""

from app.demo.data import DEMO_PASSWORD
from app.demo.hospital import DemoExists, DemoSummary, build_demo

__all__ = ["DEMO_PASSWORD", "DemoExists", "DemoSummary", "build_demo"]
