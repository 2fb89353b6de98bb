"""marshmallow schemas for request bodies and responses, one module per resource."""
