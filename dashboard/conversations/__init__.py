"""The conversations domain, with no web code: who may do what, the shared reads and scans of
WapiKit, the writes, and the one door through which every fact "this conversation is now X"
passes. The pages, the API and the live streams stand on it; it stands on the WapiKit client."""
