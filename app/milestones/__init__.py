"""Discharge milestones: made when a pathway is set, tracked red/amber/green against their due
times (docs/milestones.md)."""
