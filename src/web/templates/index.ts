/** The hub's pages: pure functions from view data to complete HTML documents. */
export { html, raw, escapeHtml, SafeHtml, type Interpolation } from './html.js';
export { page, type PageContext } from './layout.js';
export { loginPage, logoutConfirmPage, secondStepPage, type LoginView } from './login.js';
export { homePage, type HomeView, type ServerView } from './home.js';
export { spawnPendingPage, type SpawnPendingView } from './spawn-pending.js';
export { spawnFormPage, type SpawnFormView } from './spawn-form.js';
export { tokenPage, type TokenPageView, type TokenView, type OAuthGrantView } from './token.js';
export { errorPage, type ErrorView } from './error.js';
export { oauthConfirmPage, type OAuthConfirmView } from './oauth-authorize.js';
export { acceptSharePage, type AcceptShareView } from './accept-share.js';
export { coursesPage, coursePage, joinPage, type CoursesView, type CourseListItem, type CoursePageView, type ParticipantView, type CourseEventView, type JoinView, type CourseServersView, type ParticipantServerView, type CollectionView } from './courses.js';
export { courseFormPage, type CourseFormView } from './course-form.js';
export { reviewPage, type ReviewItem } from './course-review.js';
export type { CourseDetailsView, CourseServerView, LoadView, ReviewActions } from './course-parts.js';
export { adminPage, type AdminPageView } from './admin.js';
