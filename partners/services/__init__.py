"""Partners' services: webhook endpoints and their secrets (endpoints), and the deliveries of
events to them (deliveries)."""
