"""Locust user for bench/rec_load.py: each simulated client asks for one user's recommendations
after another (closed loop, no think time). Settings come from the environment:
REC_LOAD_KEY, REC_LOAD_USERS (JSON file of user ids), REC_LOAD_K, REC_LOAD_COLD_SHARE,
REC_LOAD_OUT (where the raw timings are written when locust quits)."""

from __future__ import annotations

import json
import os
import random

from locust import FastHttpUser, constant, events, task

KEY = os.environ["REC_LOAD_KEY"]
USERS = json.loads(open(os.environ["REC_LOAD_USERS"]).read())  # noqa: SIM115, PTH123
K = int(os.environ.get("REC_LOAD_K", "10"))
COLD_SHARE = float(os.environ.get("REC_LOAD_COLD_SHARE", "0.1"))
TIMINGS: dict[str, list] = {"latency_ms": [], "server_ms": [], "errors": []}


class RecommendationsClient(FastHttpUser):
    wait_time = constant(0)

    @task
    def recommendations(self) -> None:
        if random.random() < COLD_SHARE:  # noqa: S311
            user = f"cold-{random.getrandbits(40):x}"  # noqa: S311
        else:
            user = random.choice(USERS)  # noqa: S311
        with self.client.get(
            f"/api/recommender/users/{user}/recommendations/?k={K}",
            headers={"X-Api-Key": KEY},
            name="recommendations",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                TIMINGS["errors"].append(response.status_code)
                response.failure(f"HTTP {response.status_code}")
                return
            TIMINGS["latency_ms"].append(response.request_meta["response_time"])
            server = response.headers.get("X-Response-Time-Ms")
            if server is not None:
                TIMINGS["server_ms"].append(float(server))


@events.quitting.add_listener
def _write_timings(environment, **_kwargs) -> None:  # noqa: ANN001
    with open(os.environ["REC_LOAD_OUT"], "w") as handle:  # noqa: PTH123
        json.dump(TIMINGS, handle)
