//! Limits that hold under abuse: sockets per session.

use reqwest::StatusCode;

use crate::helpers::spawn_app_with;

#[actix_web::test]
async fn one_socket_over_the_limit_is_refused_with_429_until_one_closes() {
    let app = spawn_app_with(|config| config.max_sockets_per_session = 2).await;
    let visitor = app.visitor();
    let (first, _) = visitor.connect_and_greet().await;
    let (_second, _) = visitor.connect_and_greet().await;

    let refused = visitor.try_connect(&[]).await.err();
    assert_eq!(refused, Some(StatusCode::TOO_MANY_REQUESTS));
    app.wait_for_counts(2, 1).await;

    // Another session has its own places.
    let other = app.visitor();
    assert_eq!(other.incr().await, 1);
    let (_other_socket, _) = other.connect_and_greet().await;

    // A socket that closes frees its place.
    first.close().await;
    app.wait_for_counts(2, 2).await;
    let (_third, greeting) = visitor.connect_and_greet().await;
    assert_eq!(greeting["count"], 0);
}
