mod common;

use axum::http::StatusCode;

#[tokio::test]
async fn versions_out_of_range_are_refused_with_dockers_text() {
    let store = common::store().await;
    let api = common::manager(&store);
    let (status, body) = common::get(&api, "/v1.51/info").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["message"],
        "client version 1.51 is too new. Maximum supported API version is 1.50"
    );
}
