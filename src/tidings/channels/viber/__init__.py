"""The Viber channel: Viber users through the REST bot API. ``config``, ``api``, ``errors``,
``signature`` (X-Viber-Content-Signature), ``callbacks`` (the webhook's events), ``channel``.
"""
