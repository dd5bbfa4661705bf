"""Local emulators of the remote music APIs, one module per API, each a Starlette app faithful
to the documented requests, statuses, errors, rate limits and lifecycles, served on 127.0.0.1
by ``serve``. Their state is plain attributes the tests set and read."""
