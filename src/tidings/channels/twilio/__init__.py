"""The Twilio channel: SMS and WhatsApp through Programmable Messaging (REST API 2010-04-01).

``config`` (settings and credentials), ``api`` (the HTTP calls), ``errors`` (classifying
Twilio's answers), ``signature`` (X-Twilio-Signature), ``callbacks`` (status callbacks and
inbound messages), ``channel`` (the adapter that ties them together).
"""
