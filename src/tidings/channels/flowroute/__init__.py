"""The Flowroute channel: SMS and MMS through Flowroute's Messaging API (v2.1 or v2.2).

``config`` (settings and credentials), ``api`` (the HTTP call), ``errors`` (classifying
Flowroute's answers), ``auth`` (the callback token), ``callbacks`` (delivery receipts and
inbound messages), ``channel`` (the adapter that ties them together).
"""
