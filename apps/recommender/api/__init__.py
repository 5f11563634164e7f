"""The recommender's REST API for shop front-ends (X-Api-Key), documented in /api/docs/."""
