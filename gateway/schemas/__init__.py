"""Wire models of the HTTP API (pydantic), shared by the routes and the Python client. No FastAPI here."""
