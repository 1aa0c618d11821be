"""Attachments: what members attach to a question, made ready for the model.

`kinds` sorts a file into image, text or other from its name and type; `images` decodes, shrinks
and re-encodes an image with its metadata stripped (and prices it in tokens); `text` turns a text
file into a fenced block; `download` fetches an attachment from Discord's CDN within limits;
`reader` runs them all for one question and says, in one note, what it could not use.
"""
