//! The legacy validation rules: schema, constraints and RDF/XML.
