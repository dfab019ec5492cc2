"""The SMPP 3.4 channel (ESME side) over the ``smpp34`` library.

``config`` (settings, credentials), ``codec`` (parts, UDH, data codings, command statuses),
``receipts`` (deliver_sm receipts and part tracking), ``inbound`` (MO reassembly), ``session``
(one bind and its reconnects), ``channel`` (the adapter: N sessions).
"""
