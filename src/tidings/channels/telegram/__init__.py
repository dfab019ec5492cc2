"""The Telegram channel: messages to chats through a bot, over the Telegram Bot API.

``config`` (settings and credentials), ``api`` (the HTTP calls), ``errors`` (classifying the Bot
API's answers), ``callbacks`` (the Updates Telegram posts to us), ``channel`` (the adapter that
ties them together).
"""
