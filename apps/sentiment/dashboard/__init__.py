"""The analyst's side of the monitor: dashboard pages, their JSON data and the labelling queue."""
