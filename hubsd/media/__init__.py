"""
Media resolution: what a pasted URL is, and a thumbnail of it.

``resolver.py`` answers the JSON form of ``POST /api/v1/media``;
``fetch.py`` and ``addresses.py`` fetch without reaching private networks
(SSRF), ``body.py`` reads bodies within caps, ``page.py`` reads a page's
OpenGraph tags, ``image.py`` makes thumbnails, ``cache.py`` remembers
answers and thumbnails. See docs/http-api.md, "Media resolution".
"""
