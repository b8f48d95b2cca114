//! Functions of 0 to 8 typed arguments, callable with a task's input values.

use std::future::Future;
use std::sync::Arc;

use super::{FromValue, IntoTaskResult};
use crate::{BoxFuture, TaskError, Value, ValueType};

/// A function of typed arguments, callable with a task's input values. `Args` is the tuple
/// of argument types; `Kind` tells async from blocking functions apart.
pub trait TaskFunction<Args, Kind>: Send + Sync + 'static {
    fn arg_types() -> Vec<ValueType>;
    fn output_types() -> Vec<ValueType>;
    fn call(self: Arc<Self>, values: Vec<Value>) -> BoxFuture<Result<Vec<Value>, TaskError>>;
}

/// Marker: the function returns a future.
#[derive(Debug)]
pub enum AsyncKind {}
/// Marker: the function returns its result directly.
#[derive(Debug)]
pub enum SyncKind {}

/// Reads the next argument; `next` is `(index, value)` from the inputs.
fn argument<T: FromValue>(next: Option<(usize, &Value)>) -> Result<T, TaskError> {
    let Some((idx, value)) = next else {
        return Err(TaskError::permanent(
            "the function takes more arguments than `requires` names",
        ));
    };
    T::from_value(value).ok_or_else(|| {
        TaskError::permanent(format!(
            "argument {} expects {}, got {}",
            idx + 1,
            T::value_type(),
            value.value_type()
        ))
    })
}

macro_rules! function_arity {
    ($($arg:ident),*) => {
        impl<Func, Fut, R, $($arg: FromValue),*> TaskFunction<($($arg,)*), AsyncKind> for Func
        where
            Func: Fn($($arg),*) -> Fut + Send + Sync + 'static,
            Fut: Future<Output = R> + Send + 'static,
            R: IntoTaskResult,
        {
            fn arg_types() -> Vec<ValueType> {
                vec![$($arg::value_type()),*]
            }
            fn output_types() -> Vec<ValueType> {
                R::output_types()
            }
            #[allow(non_snake_case, unused_mut, unused_variables, clippy::unused_enumerate_index, reason = "macro-generated for every arity, zero included")]
            fn call(self: Arc<Self>, values: Vec<Value>) -> BoxFuture<Result<Vec<Value>, TaskError>> {
                let mut values = values.iter().enumerate();
                $(
                    let $arg = match argument::<$arg>(values.next()) {
                        Ok(arg) => arg,
                        Err(error) => return Box::pin(async move { Err(error) }),
                    };
                )*
                let future = (self)($($arg),*);
                Box::pin(async move { future.await.into_values() })
            }
        }

        impl<Func, R, $($arg: FromValue),*> TaskFunction<($($arg,)*), SyncKind> for Func
        where
            Func: Fn($($arg),*) -> R + Send + Sync + 'static,
            R: IntoTaskResult,
        {
            fn arg_types() -> Vec<ValueType> {
                vec![$($arg::value_type()),*]
            }
            fn output_types() -> Vec<ValueType> {
                R::output_types()
            }
            #[allow(non_snake_case, unused_mut, unused_variables, clippy::unused_enumerate_index, reason = "macro-generated for every arity, zero included")]
            fn call(self: Arc<Self>, values: Vec<Value>) -> BoxFuture<Result<Vec<Value>, TaskError>> {
                // The body runs when the future is polled, which the engine does on a
                // blocking thread for these functions.
                Box::pin(async move {
                    let mut values = values.iter().enumerate();
                    $(
                        let $arg = argument::<$arg>(values.next())?;
                    )*
                    (self)($($arg),*).into_values()
                })
            }
        }
    };
}

function_arity!();
function_arity!(A1);
function_arity!(A1, A2);
function_arity!(A1, A2, A3);
function_arity!(A1, A2, A3, A4);
function_arity!(A1, A2, A3, A4, A5);
function_arity!(A1, A2, A3, A4, A5, A6);
function_arity!(A1, A2, A3, A4, A5, A6, A7);
function_arity!(A1, A2, A3, A4, A5, A6, A7, A8);
