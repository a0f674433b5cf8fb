from django.middleware.gzip import GZipMiddleware


class GZipExceptEventStreams(GZipMiddleware):
    """Django's gzip, except for event streams: compressing one holds each event back in the
    compressor's buffer until enough follow to fill it."""

    def process_response(self, request, response):
        if response.get("Content-Type", "").startswith("text/event-stream"):
            return response
        return super().process_response(request, response)
