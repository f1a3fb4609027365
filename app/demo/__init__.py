"""The demo tenant `acme`: network, catalog and orders for `flask --app wsgi seed-demo`."""
