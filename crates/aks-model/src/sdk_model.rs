//! The shape of the Python SDK's models as data: what the generated tables in `az_attributes` are written in and
//! what `az_view` walks. Below both, so the tables and the view do not import each other.

/// How a value is shaped in the SDK model: a scalar, a model, or a list or dictionary of shapes.
#[derive(Debug)]
pub(crate) enum Shape {
    /// A string, number or boolean (printed as is).
    Scalar,
    /// An SDK model, by class name.
    Model(&'static str),
    /// A list.
    List(&'static Shape),
    /// A dictionary (its keys are data: not renamed).
    Dict(&'static Shape),
}

/// One attribute of an SDK model.
#[derive(Debug)]
pub(crate) struct Attribute {
    /// The JSON name on the wire.
    pub wire: &'static str,
    /// The name az prints.
    pub az: &'static str,
    /// Its shape.
    pub shape: Shape,
}

/// An SDK model: its attributes, and the wire property whose model is flattened into it.
#[derive(Debug)]
pub(crate) struct Model {
    /// SDK class name.
    pub name: &'static str,
    /// `(wire property, model)` flattened into this model (`properties` of a managed cluster).
    pub flattened: Option<(&'static str, &'static str)>,
    /// Attributes, in SDK order.
    pub attributes: &'static [Attribute],
}
