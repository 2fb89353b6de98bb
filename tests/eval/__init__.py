"""The labelled job-ad evaluation set of the recommendation engine (docs/recommendations.md)."""
