"""Moderation of member comments: the queue, hide, restore, dismiss flags."""
