"""The API's JSON parser: DRF's, with two bodies it would let through as a 500 refused as any
other unreadable body is (400, problem+json)."""

from __future__ import annotations

import json

from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            # `[[[[…` deeper than Python's json module reads (about 1,000 levels).
            raise exceptions.ParseError("The JSON body is nested too deeply to read.") from None
        try:
            # An escaped lone surrogate ("\ud800") parses, but is not text: echoed in a refusal, or
            # stored, it fails there instead.
            json.dumps(data, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise exceptions.ParseError("The JSON body holds a lone surrogate (such as \\ud800), which is not text.") from None
        return data
