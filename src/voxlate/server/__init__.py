"""The voxlate server: FastAPI app with the live WebSocket, REST API and web page."""
