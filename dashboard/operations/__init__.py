"""What operators see of a running dashboard: the status page for Owners, the health check for
load balancers and the metrics endpoint for Prometheus."""
