//! Conversions between domain types and the generated protobuf types (the gRPC edge).
